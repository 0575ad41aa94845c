import assert from "node:assert/strict";
import { fakePort } from "../docker/fake_port.ts";
import { silentLogger } from "../log.ts";
import { hostInterfaces } from "./host_interfaces.ts";
import { BusyError, KeyedMutex, RuntimeLocks } from "./locks.ts";
import { Operations } from "./operations.ts";
import { buildBody } from "./run_command_body.ts";
import { containerIdCandidates } from "./self_container.ts";
import { ConsumptionSampler, cpuPercent } from "./stats.ts";
import { notFound, presentStatus } from "./status.ts";

Deno.test("locks: busy error text of protocol.md §2; other runtimes proceed", () => {
  const l = new RuntimeLocks();
  const release = l.acquire("plc1", "create");
  assert.throws(
    () => l.acquire("plc1", "delete"),
    (e) =>
      e instanceof BusyError &&
      e.message === "Container plc1 already has a create operation in progress",
  );
  l.acquire("plc2", "delete")();
  release();
  l.acquire("plc1", "delete")();
});

Deno.test("keyed mutex runs one at a time per key, in order", async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const slow = (id: string) => () => Promise.resolve().then(() => log.push(id));
  await Promise.all([m.run("a", slow("1")), m.run("a", slow("2")), m.run("b", slow("3"))]);
  assert.deepEqual(log.filter((x) => x !== "3"), ["1", "2"]);
});

Deno.test("operations: steps, error kept until cleared", () => {
  let t = 0;
  const ops = new Operations(() => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)));
  ops.begin("plc1", "create", "validating_config", "Container plc1 is being created");
  ops.step("plc1", "pulling_image", "Pulling", 40);
  assert.equal(ops.get("plc1")?.progress, 40);
  ops.fail("plc1", "boom");
  assert.deepEqual({ ...ops.get("plc1"), started_at: 0, updated_at: 0 }, {
    status: "error",
    device_id: "plc1",
    operation: "create",
    step: "pulling_image",
    started_at: 0,
    updated_at: 0,
    message: "Operation failed: boom",
    error: "boom",
    progress: 40,
  });
  ops.begin("plc1", "delete", "stopping_container", "Deleting");
  assert.equal(ops.get("plc1")?.status, "deleting");
});

Deno.test("cpu percent of one core from two readings", () => {
  const a = { cpuTotal: 0, systemCpu: 0, onlineCpus: 2, memoryBytes: 0 };
  assert.equal(cpuPercent(a, { ...a, cpuTotal: 50, systemCpu: 200 }), 50);
  assert.equal(cpuPercent(a, a), null);
});

Deno.test("sampler records from the second tick, only running runtimes, via a fake port", async () => {
  let tick = 0;
  const records: [string, unknown][] = [];
  const docker = fakePort({
    listContainers: () =>
      Promise.resolve([
        { id: "1", name: "plc1", labels: {}, state: "running" },
        { id: "2", name: "plc2", labels: {}, state: "exited" },
      ]),
    statsOnce: () =>
      Promise.resolve({
        cpuTotal: tick * 10,
        systemCpu: tick * 100,
        onlineCpus: 1,
        memoryBytes: 3 * 1024 * 1024,
      }),
  });
  const s = new ConsumptionSampler(
    docker,
    { record: (k, v) => records.push([k, v]), forget() {} },
    silentLogger,
    {},
    () => new Date(5000),
  );
  assert.equal(await s.sampleOnce(), 0);
  tick++;
  assert.equal(await s.sampleOnce(), 1);
  assert.deepEqual(records, [["plc1", { timestamp: 5, cpu: 10, memory: 3 }]]);
  assert.throws(() => docker.removeNetwork("x"), /Not implemented: removeNetwork/);
});

Deno.test("run_command bodies: JSON, form, multipart", () => {
  const json = buildBody({ data: { a: 1 } });
  const header = (h: [string, string][], name: string) =>
    h.find(([k]) => k.toLowerCase() === name)?.[1];
  assert.equal(header(json.headers, "content-type"), "application/json");
  assert.equal(new TextDecoder().decode(json.bytes!), '{"a":1}');
  const form = buildBody({
    data: { u: "x y" },
    headers: { "Content-Type": "application/x-www-form-urlencoded", Host: "evil" },
  });
  assert.equal(new TextDecoder().decode(form.bytes!), "u=x+y");
  assert.equal(header(form.headers, "host"), undefined);
  const mp = buildBody({ files: { file: { filename: "a.st", content_base64: btoa("hi") } } }, "B");
  assert.equal(
    new TextDecoder().decode(mp.bytes!),
    '--B\r\nContent-Disposition: form-data; name="file"; filename="a.st"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n--B--\r\n',
  );
  assert.equal(buildBody({}).bytes, null);
});

Deno.test("host interfaces: merged, virtual ones on request, sorted", () => {
  const sys = [
    {
      name: "lo",
      family: "IPv4",
      address: "127.0.0.1",
      cidr: "127.0.0.1/8",
      mac: "00:00:00:00:00:00",
    },
    {
      name: "eth1",
      family: "IPv4",
      address: "192.0.2.7",
      cidr: "192.0.2.7/24",
      mac: "02:00:00:00:00:07",
    },
    {
      name: "docker0",
      family: "IPv4",
      address: "172.17.0.1",
      cidr: "172.17.0.1/16",
      mac: "02:42:00:00:00:01",
    },
  ];
  const list = hostInterfaces([], sys, { include_virtual: false, detailed: true });
  assert.deepEqual(list, [{
    name: "eth1",
    ip_address: "192.0.2.7",
    ipv4_addresses: ["192.0.2.7"],
    mac_address: "02:00:00:00:00:07",
    subnet: "192.0.2.0/24",
    gateway: null,
  }]);
  const all = hostInterfaces([], sys, { include_virtual: true, detailed: false });
  assert.deepEqual(all.map((i) => i.name), ["docker0", "eth1", "lo"]);
  assert.equal("subnet" in all[0]!, false);
});

Deno.test("self container id candidates", () => {
  const id = "a".repeat(64);
  assert.deepEqual(containerIdCandidates(`0::/docker/${id}`, "", "host"), [id]);
  assert.deepEqual(
    containerIdCandidates("0::/", `x /var/lib/docker/containers/${id}/hostname y`, "abcdef012345"),
    [id, "abcdef012345"],
  );
});

Deno.test("status shapes: not_found and present without the internal network", () => {
  assert.deepEqual(notFound("x"), {
    status: "not_found",
    device_id: "x",
    message: "Container x does not exist",
  });
  const s = presentStatus({
    id: "1",
    name: "plc1",
    image: "i",
    labels: {},
    status: "running",
    running: true,
    exitCode: 0,
    startedAt: "2026-01-01T00:00:00Z",
    restartCount: 1,
    pid: 9,
    restartPolicy: "always",
    capAdd: [],
    ulimits: [],
    dns: [],
    memoryLimit: 0,
    nanoCpus: 0,
    networks: {
      plc1_internal: { network: "plc1_internal", ipv4: "172.20.0.2" },
      lan: { network: "lan", ipv4: "192.0.2.5", mac: "02:00:00:00:00:01", gateway: "192.0.2.1" },
    },
  }, new Date("2026-01-01T00:01:00Z"));
  assert.deepEqual(s, {
    status: "success",
    device_id: "plc1",
    container_status: "running",
    is_running: true,
    networks: {
      lan: { ip_address: "192.0.2.5", mac_address: "02:00:00:00:00:01", gateway: "192.0.2.1" },
    },
    restart_count: 1,
    internal_ip: "172.20.0.2",
    uptime_seconds: 60,
  });
});
