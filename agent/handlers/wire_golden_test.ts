/**
 * Wire golden tests of the handlers of this directory that need no Docker: each is called with
 * fakes through the real dispatcher (the real envelope), and its ack is compared with the
 * original's recorded shape in contracts/testdata/golden_acks.json (keys, types, integers,
 * texts) and parsed by the strict ack schema. The heartbeat payload is compared the same way.
 */
import assert from "node:assert/strict";
import { Heartbeat, type SerialDevice, type TopicName, TOPICS } from "../../contracts/mod.ts";
import {
  type AckCase,
  loadGoldenAcks,
  shapeDiff,
  valueAt,
} from "../../contracts/testdata/drift.ts";
import { createDispatcher } from "../dispatch.ts";
import { buildHeartbeat } from "../heartbeat.ts";
import { silentLogger } from "../log.ts";
import { Consumption, HOST_KEY } from "../metrics/consumption.ts";
import { StaticInterfaceView } from "../runtimes/interface_view.ts";
import { getConsumptionDevice, type RuntimeLimits } from "./get_consumption_device.ts";
import { hostFactsOf } from "./get_consumption_orchestrator.ts";
import { getHostInterfaces } from "./get_host_interfaces.ts";
import { getSerialDevices } from "./get_serial_devices.ts";
import { fakeHandlerDeps } from "./_fake_deps.ts";
import { buildHandlerTable } from "./mod.ts";
import type { HandlerTable } from "./types.ts";

const golden = await loadGoldenAcks();
const GIB = 1024 ** 3;
const NOW_S = 1_764_064_810;

function recorded(topic: string, name: string): AckCase {
  const c = (topic === "heartbeat" ? golden.events : golden.topics)[topic]?.acks.find((a) =>
    a.name === name
  );
  assert.ok(c, `no recorded ack ${topic}/${name}`);
  return c;
}

/** Compares ours with the recorded case: schema, keys and types, texts. */
function assertMatches(topic: TopicName, name: string, ours: unknown): void {
  const c = recorded(topic, name);
  const parsed = TOPICS[topic].ack.safeParse(ours);
  assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues));
  assert.deepEqual(shapeDiff(c, ours), [], `${topic}/${name}: differs from the original`);
  for (const t of c.texts ?? []) {
    assert.equal(valueAt(ours, t.path), valueAt(c.ack, t.path), `${topic}/${name}: ${t.path}`);
  }
}

/** Sends through the real dispatcher with the recorded correlation id. */
async function send(
  overrides: Partial<HandlerTable>,
  topic: TopicName,
  name: string,
  payload: Record<string, unknown>,
): Promise<unknown> {
  const consumption = new Consumption(null);
  // Fractions on purpose: the original answers integers (int() truncation).
  consumption.record(HOST_KEY, { timestamp: NOW_S - 10, cpu: 12.7, memory: 2048.9 });
  consumption.record(HOST_KEY, { timestamp: NOW_S - 5, cpu: 3.2, memory: 2050.4 });
  const table = {
    ...buildHandlerTable(fakeHandlerDeps({
      host: {
        consumption,
        facts: () =>
          Promise.resolve(hostFactsOf({
            interfaces: [
              { name: "lo", family: "IPv4", address: "127.0.0.1" },
              { name: "docker0", family: "IPv4", address: "172.17.0.1" },
              { name: "ens33", family: "IPv4", address: "192.168.1.20" },
              { name: "ens33", family: "IPv6", address: "fe80::1" },
              { name: "wg0", family: "IPv4", address: "10.8.0.2" },
            ],
            memoryBytes: 23.5 * GIB,
            cpus: 4,
            osRelease: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
            kernel: "6.1.0-18-amd64",
            diskBytes: 250e9,
          })),
        now: () => NOW_S,
      },
    })),
    ...overrides,
  };
  const cid = recorded(topic, name).ack.correlation_id;
  let got: unknown;
  await createDispatcher(table, silentLogger).handle({
    topic,
    payload: { ...payload, correlation_id: cid },
    ack: (b) => (got = b),
  });
  return got;
}

const series = () => ({
  cpu_usage: [{ timestamp: NOW_S - 10, cpu: 12.9 }, { timestamp: NOW_S - 5, cpu: 3.4 }],
  memory_usage: [{ timestamp: NOW_S - 10, memory: 48.7 }],
});

function consumptionDevice(limits: Record<string, RuntimeLimits>): Partial<HandlerTable> {
  return {
    get_consumption_device: (m) =>
      getConsumptionDevice({
        limits: (id) => Promise.resolve(limits[id] ?? null),
        query: series,
      }, m),
  };
}

const periods = { cpuPeriod: "1h", memoryPeriod: "1h" };

Deno.test("golden get_consumption_device: unlimited, limited, unknown id", async () => {
  const t = consumptionDevice({
    plc1: { memoryLimit: 0, nanoCpus: 0 },
    plc2: { memoryLimit: 512 * 2 ** 20, nanoCpus: 1.5e9 },
  });
  const ok = await send(t, "get_consumption_device", "success", { device_id: "plc1", ...periods });
  assertMatches("get_consumption_device", "success", ok);
  assert.deepEqual((ok as { cpu_usage: unknown }).cpu_usage, [
    { timestamp: NOW_S - 10, cpu: 12 },
    { timestamp: NOW_S - 5, cpu: 3 },
  ]);
  const limited = await send(t, "get_consumption_device", "limited", {
    device_id: "plc2",
    ...periods,
  }) as Record<string, unknown>;
  assertMatches("get_consumption_device", "limited", limited);
  assert.equal(limited.memory, "512 MB");
  assert.equal(limited.cpu, "1.5 vCPU");
  const unknown = await send(t, "get_consumption_device", "unknown_device", {
    device_id: "plc9",
    ...periods,
  });
  assertMatches("get_consumption_device", "unknown_device", unknown);
});

Deno.test("golden get_consumption_device: an unreadable known runtime answers N/A", async () => {
  const ack = await send(
    {
      get_consumption_device: (m) =>
        getConsumptionDevice({
          limits: () => Promise.reject(new Error("engine down")),
          query: series,
        }, m),
    },
    "get_consumption_device",
    "success",
    { device_id: "plc1", ...periods },
  ) as Record<
    string,
    unknown
  >;
  assertMatches("get_consumption_device", "success", ack);
  assert.equal(ack.memory, "N/A");
  assert.equal(ack.cpu, "N/A");
});

Deno.test("golden get_consumption_orchestrator: ints, GB of 1024^3, original's ip filter", async () => {
  const ack = await send({}, "get_consumption_orchestrator", "success", {
    cpuPeriod: "1h",
    memoryPeriod: "1h",
  }) as Record<string, unknown>;
  assertMatches("get_consumption_orchestrator", "success", ack);
  assert.equal(ack.memory, 24064, "23.5 GiB in MB");
  assert.equal(ack.disk, 232, "250e9 bytes in GB of 1024^3, truncated");
  assert.equal(ack.os, "Debian GNU/Linux 12 (bookworm)");
  assert.deepEqual(ack.ip_addresses, [{ interface: "ens33", ip_address: "192.168.1.20" }]);
  assert.deepEqual(ack.memory_usage, [
    { timestamp: NOW_S - 10, memory: 2048 },
    { timestamp: NOW_S - 5, memory: 2050 },
  ]);
});

const iface = (name: string, address: string | null) => ({
  interface: name,
  index: 2,
  operstate: "UP" as const,
  type: "ethernet" as const,
  mac_address: "00:0c:29:4f:8e:35",
  ipv4_addresses: address
    ? [{ address, prefixlen: 24, subnet: "192.168.1.0/24", network_address: "192.168.1.0" }]
    : [],
  gateway: address ? "192.168.1.1" : null,
  timestamp: "2026-11-25T10:00:00.000Z",
});

Deno.test("golden get_host_interfaces: success; empty netmon cache is the original's error", async () => {
  const view = new StaticInterfaceView([
    iface("ens37", "192.168.1.20"),
    iface("ens38", null),
    iface("wg0", null),
  ]);
  const system = () => [
    { name: "docker0", family: "IPv4", address: "172.17.0.1", cidr: "172.17.0.1/16", mac: "" },
    { name: "tailscale0", family: "IPv4", address: "100.64.0.2", cidr: "100.64.0.2/32", mac: "" },
  ];
  const t = (v: StaticInterfaceView): Partial<HandlerTable> => ({
    get_host_interfaces: (m) => getHostInterfaces({ view: v, system }, m),
  });
  const ok = await send(t(view), "get_host_interfaces", "success", {}) as {
    interfaces: { name: string }[];
  };
  assertMatches("get_host_interfaces", "success", ok);
  assert.deepEqual(ok.interfaces.map((i) => i.name), ["ens37", "ens38"], "virtual left out");
  const all = await send(t(view), "get_host_interfaces", "success", { include_virtual: true }) as {
    interfaces: { name: string }[];
  };
  assert.deepEqual(all.interfaces.map((i) => i.name), [
    "docker0",
    "ens37",
    "ens38",
    "tailscale0",
    "wg0",
  ]);
  const empty = await send(t(new StaticInterfaceView()), "get_host_interfaces", "cache_empty", {});
  assertMatches("get_host_interfaces", "cache_empty", empty);
});

Deno.test("golden get_serial_devices: one device, none", async () => {
  const dev: SerialDevice = {
    path: "/dev/ttyUSB0",
    device_id: "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0",
    vendor_id: "0403",
    product_id: "6001",
    serial: "A50285BI",
    manufacturer: "FTDI",
    product: "FT232R USB UART",
  };
  const t = (list: SerialDevice[]): Partial<HandlerTable> => ({
    get_serial_devices: (m) => getSerialDevices({ list: () => Promise.resolve(list) }, m),
  });
  const one = await send(t([dev]), "get_serial_devices", "one_device", {});
  assertMatches("get_serial_devices", "one_device", one);
  assert.deepEqual(one, recorded("get_serial_devices", "one_device").ack);
  const none = await send(t([]), "get_serial_devices", "none", {});
  assert.deepEqual(none, recorded("get_serial_devices", "none").ack);
});

Deno.test("golden heartbeat: GB of 1024^3, 0.1, the recorded keys", () => {
  const c = recorded("heartbeat", "beat");
  const hb = buildHeartbeat(
    "07048933",
    {
      cpuPercent: 3.24,
      memUsed: 11.7 * GIB,
      memTotal: 23.5 * GIB,
      diskUsed: 41.3 * GIB,
      diskTotal: 250e9,
      sampledAt: 0,
    },
    61.2,
    Date.parse("2026-11-25T10:00:00.000Z"),
    2,
  );
  assert.deepEqual(Heartbeat.parse(hb), hb);
  assert.deepEqual(shapeDiff(c, hb), []);
  assert.deepEqual({ ...hb, agent_version: c.ack.agent_version }, c.ack);
});
