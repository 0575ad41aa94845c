import assert from "node:assert/strict";
import { ErrorAck, TOPIC_NAMES, TOPICS } from "../contracts/mod.ts";
import { createDispatcher } from "./dispatch.ts";
import { buildHandlerTable } from "./handlers/mod.ts";
import { fakeHandlerDeps } from "./handlers/_fake_deps.ts";
import type { HandlerTable } from "./handlers/types.ts";
import { silentLogger } from "./log.ts";
import { Consumption, HOST_KEY } from "./metrics/consumption.ts";

const facts = () =>
  Promise.resolve({
    ip_addresses: [{ interface: "eth0", ip_address: "192.0.2.10" }],
    memory: 16000,
    cpu: 4,
    os: "Debian",
    kernel: "6.1.0",
    disk: 250,
  });

function table(overrides: Partial<HandlerTable> = {}): HandlerTable {
  const consumption = new Consumption(null);
  for (let t = 0; t < 2000; t++) {
    consumption.record(HOST_KEY, { timestamp: 10_000 + t * 5, cpu: 10, memory: 500 });
  }
  return {
    ...buildHandlerTable(fakeHandlerDeps({ host: { consumption, facts, now: () => 20_000 } })),
    ...overrides,
  };
}

function call(t: HandlerTable, topic: string, payload: unknown, withAck = true) {
  const d = createDispatcher(t, silentLogger);
  let got: unknown = undefined;
  return d.handle({ topic, payload, ...(withAck ? { ack: (b: unknown) => (got = b) } : {}) }).then(
    () => got,
  );
}

Deno.test("every topic has a handler; refused commands answer a clear error ack", async () => {
  const t = table();
  for (const topic of TOPIC_NAMES) {
    assert.equal(typeof t[topic], "function");
    const ack = await call(t, topic, valid(topic)) as Record<string, unknown>;
    assert.equal(ack.correlation_id, 7, topic);
    assert.equal(ack.action, topic);
    if (["create_new_runtime", "delete_device", "start_device"].includes(topic)) {
      const err = ErrorAck.parse(ack);
      assert.match(err.error, new RegExp(`^${topic} is not available in this test`));
    }
  }
});

function valid(topic: string): Record<string, unknown> {
  const base = { correlation_id: 7 };
  const dev = { ...base, device_id: "plc1" };
  switch (topic) {
    case "create_new_runtime":
      return { ...base, container_name: "plc1", vnic_configs: [] };
    case "run_command":
      return { ...dev, method: "GET", api: "/api/status" };
    case "get_consumption_device":
      return { ...dev, cpuPeriod: "1h", memoryPeriod: "1h" };
    case "get_consumption_orchestrator":
      return { ...base, cpuPeriod: "1h", memoryPeriod: "1h" };
    case "delete_orchestrator":
    case "get_host_interfaces":
      return base;
    default:
      return dev;
  }
}

Deno.test("get_consumption_orchestrator: ack matches the contract, bounded series", async () => {
  const ack = await call(table(), "get_consumption_orchestrator", {
    correlation_id: 3,
    cpuPeriod: "10000,20000",
    memoryPeriod: "60",
  }) as Record<string, unknown>;
  TOPICS.get_consumption_orchestrator.ack.parse(ack);
  assert.equal(ack.action, "get_consumption_orchestrator");
  assert.equal(ack.correlation_id, 3);
  assert.equal((ack.cpu_usage as unknown[]).length, 500);
  assert.equal((ack.memory_usage as unknown[]).length, 12); // 19,940..19,995 every 5 s
});

Deno.test("validation errors name field paths; non-object payloads get an error ack", async () => {
  const bad = await call(table(), "create_new_runtime", {
    correlation_id: 1,
    container_name: "plc1",
    vnic_configs: [{ name: "eth0", network_mode: "dhcp" }],
  }) as ErrorAck;
  assert.equal(bad.error, "Missing required field: vnic_configs[0].parent_interface");
  assert.ok(bad.errors!.some((e) => e.path === "vnic_configs[0].parent_interface"));
  for (const payload of ["x", 5, null, [1], undefined, true]) {
    const ack = await call(table(), "stop_device", payload) as ErrorAck;
    assert.equal(ack.status, "error");
    assert.match(ack.error, /^Invalid field type: /);
    assert.equal(ack.correlation_id, null);
  }
});

Deno.test("a throwing handler gives an error ack; override wiring is one entry", async () => {
  const t = table({
    stop_device: () => Promise.reject(new Error("engine exploded")),
    start_device: (m) =>
      Promise.resolve({ status: "success", device_id: m.device_id, action: "forged" }),
  });
  const ack = await call(t, "stop_device", { device_id: "plc1", correlation_id: 9 }) as ErrorAck;
  assert.deepEqual(ack, {
    action: "stop_device",
    correlation_id: 9,
    status: "error",
    error: "stop_device failed: engine exploded",
  });
  const ok = await call(t, "start_device", { device_id: "plc1" }) as Record<string, unknown>;
  assert.equal(ok.action, "start_device"); // a handler cannot overwrite the envelope
  assert.equal(ok.status, "success");
});

Deno.test("unknown topics: error ack when asked, nothing otherwise; shutdown refuses", async () => {
  const ack = await call(table(), "reboot_now", { correlation_id: 2 }) as ErrorAck;
  assert.equal(ack.error, "Unknown topic: reboot_now");
  assert.equal(await call(table(), "reboot_now", {}, false), undefined);
  const d = createDispatcher(table(), silentLogger);
  d.stop();
  let got: ErrorAck | undefined;
  await d.handle({
    topic: "stop_device",
    payload: { device_id: "a" },
    ack: (b) => (got = b as ErrorAck),
  });
  assert.match(got!.error, /shutting down/);
});
