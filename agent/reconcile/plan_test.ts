import assert from "node:assert/strict";
import type { StoredVnic } from "../../contracts/mod.ts";
import type { ContainerInfo, NetworkInfo } from "../docker/port.ts";
import { internalLabels, macvlanLabels } from "../docker/networks.ts";
import { runtimeLabels } from "../runtimes/naming.ts";
import { isConverged, plan as planWith } from "./plan.ts";
import {
  type DesiredRuntime,
  DESTRUCTIVE,
  type Observed,
  type ParentState,
  type PlanContext,
  type Step,
} from "./types.ts";

const CTX: PlanContext = {
  trusted: true,
  labels: {},
  selfContainer: null,
  restarts: new Set(),
  selfDestruct: false,
  engine: { macsAtCreate: true, ulimits: true },
};
const plan = (d: DesiredRuntime[], o: Observed, ctx: Partial<PlanContext> = {}): Step[] =>
  planWith(d, o, { ...CTX, ...ctx });

const OLD = "198.51.100.0/24";
const NEW = "203.0.113.0/24";

function vnic(over: Partial<StoredVnic> = {}): StoredVnic {
  return {
    name: "eth0",
    parent_interface: "ens37",
    network_mode: "dhcp",
    mac_address: "02:00:00:00:00:01",
    ...over,
  };
}

function container(
  name: string,
  networks: string[],
  running = true,
  restartPolicy = running ? "always" : "no",
): ContainerInfo {
  return {
    id: name,
    name,
    image: "img",
    labels: runtimeLabels(name, "latest", []),
    status: running ? "running" : "exited",
    running,
    exitCode: 0,
    startedAt: "",
    restartCount: 0,
    pid: running ? 42 : 0,
    restartPolicy,
    capAdd: [],
    ulimits: [],
    dns: [],
    networks: Object.fromEntries(networks.map((n) => [n, { network: n }])),
    memoryLimit: 0,
    nanoCpus: 0,
  };
}

function macvlan(parent: string, subnet: string, users: string[] = []): NetworkInfo {
  return {
    id: subnet,
    name: `macvlan_${parent}_${subnet.replace("/", "_")}`,
    driver: "macvlan",
    internal: false,
    options: { parent },
    subnets: [{ subnet }],
    labels: macvlanLabels(parent, subnet),
    containers: users.map((u) => ({ id: u, name: u, mac: "", ipv4: "" })),
  };
}

function internal(rt: string): NetworkInfo {
  return {
    id: rt,
    name: `${rt}_internal`,
    driver: "bridge",
    internal: true,
    options: {},
    subnets: [],
    labels: internalLabels(rt),
    containers: [],
  };
}

function observed(
  containers: ContainerInfo[],
  networks: NetworkInfo[],
  parents: Record<string, ParentState> = { ens37: { state: "up", subnet: OLD, gateway: null } },
  crash: string[] = [],
): Observed {
  return {
    containers,
    networks,
    parents: { synced: true, get: (n) => parents[n] ?? { state: "unknown" } },
    crashLooping: new Set(crash),
  };
}

const oldNet = `macvlan_ens37_${OLD.replace("/", "_")}`;
const newNet = `macvlan_ens37_${NEW.replace("/", "_")}`;
const rt = (
  name: string,
  vnics = [vnic()],
  running = true,
  over: Partial<DesiredRuntime> = {},
): DesiredRuntime => ({
  name,
  running,
  vnics,
  image: "img:latest",
  version: "latest",
  phase: "ready",
  internal_ip: null,
  ...over,
});

Deno.test("a converged state plans nothing (idempotence)", () => {
  const steps = plan(
    [rt("a"), rt("b")],
    observed(
      [container("a", ["a_internal", oldNet]), container("b", ["b_internal", oldNet])],
      [internal("a"), internal("b"), macvlan("ens37", OLD, ["a", "b"])],
    ),
  );
  assert.deepEqual(steps, []);
  assert.ok(isConverged(steps));
});

Deno.test("subnet move: one batch per parent, every runtime on it, MACs kept", () => {
  const steps = plan(
    [rt("a"), rt("b", [vnic({ mac_address: "02:00:00:00:00:02" })])],
    observed(
      [container("a", ["a_internal", oldNet]), container("b", ["b_internal", oldNet])],
      [internal("a"), internal("b"), macvlan("ens37", OLD, ["a", "b"])],
      { ens37: { state: "up", subnet: NEW, gateway: "203.0.113.1" } },
    ),
  );
  assert.deepEqual(steps, [{
    kind: "rewire_parent",
    parent: "ens37",
    from: oldNet,
    detach: [],
    to: { name: newNet, parent: "ens37", subnet: NEW, gateway: "203.0.113.1", exists: false },
    members: [
      { runtime: "a", vnic: "eth0", mac: "02:00:00:00:00:01" },
      { runtime: "b", vnic: "eth0", mac: "02:00:00:00:00:02" },
    ],
  }]);
});

Deno.test("manual IP that no longer fits: detached and reported, nothing invented", () => {
  const manual = vnic({ network_mode: "manual", ip_address: "198.51.100.20" });
  const steps = plan(
    [rt("a", [manual])],
    observed([container("a", ["a_internal", oldNet])], [
      internal("a"),
      macvlan("ens37", OLD, ["a"]),
    ], {
      ens37: { state: "up", subnet: NEW, gateway: null },
    }),
  );
  assert.deepEqual(steps.map((s) => s.kind), ["report", "rewire_parent"]);
  const rewire = steps[1] as Extract<typeof steps[number], { kind: "rewire_parent" }>;
  assert.deepEqual(rewire.detach, [{ runtime: "a", vnic: "eth0" }]);
  assert.deepEqual(rewire.members, []);
  assert.deepEqual(steps[0], {
    kind: "report",
    runtime: "a",
    vnic: "eth0",
    problem: { code: "ip_outside_subnet", ip: "198.51.100.20", subnet: NEW },
  });
});

Deno.test("manual IP that still fits keeps its address in the move", () => {
  const manual = vnic({ network_mode: "manual", ip_address: "10.0.0.20" });
  const steps = plan(
    [rt("a", [manual])],
    observed([container("a", ["a_internal", "macvlan_ens37_10.0.0.0_16"])], [
      internal("a"),
      macvlan("ens37", "10.0.0.0/16", ["a"]),
    ], { ens37: { state: "up", subnet: "10.0.0.0/8", gateway: null } }),
  );
  const rewire = steps[0] as Extract<typeof steps[number], { kind: "rewire_parent" }>;
  assert.equal(rewire.kind, "rewire_parent");
  assert.equal(rewire.members[0]?.ipv4, "10.0.0.20");
});

Deno.test("parent down: reported as detached, nothing touched", () => {
  const steps = plan(
    [rt("a")],
    observed([container("a", ["a_internal", oldNet])], [
      internal("a"),
      macvlan("ens37", OLD, ["a"]),
    ], {
      ens37: { state: "down" },
    }),
  );
  assert.deepEqual(steps, [{
    kind: "report",
    runtime: "a",
    vnic: "eth0",
    problem: { code: "parent_unavailable", parent: "ens37", state: "down" },
  }]);
  assert.ok(isConverged(steps));
});

Deno.test("network removed by hand: re-created and the runtime attached again", () => {
  const steps = plan([rt("a")], observed([container("a", [])], []));
  assert.deepEqual(steps, [
    { kind: "create_internal_network", runtime: "a" },
    { kind: "connect_internal", runtime: "a" },
    { kind: "settle", runtime: "a" },
    {
      kind: "attach",
      to: { name: oldNet, parent: "ens37", subnet: OLD, gateway: null, exists: false },
      members: [{ runtime: "a", vnic: "eth0", mac: "02:00:00:00:00:01" }],
    },
  ]);
});

Deno.test("existing pool under another name is reused", () => {
  const other = { ...macvlan("ens37", OLD), name: "plant-lan" };
  const steps = plan([rt("a")], observed([container("a", ["a_internal"])], [internal("a"), other]));
  assert.deepEqual(steps, [{
    kind: "attach",
    to: { name: "plant-lan", parent: "ens37", subnet: OLD, gateway: null, exists: true },
    members: [{ runtime: "a", vnic: "eth0", mac: "02:00:00:00:00:01" }],
  }]);
});

Deno.test("container removed by hand is recreated; stop intent respected; crash loop stopped", () => {
  const nets = [internal("b"), internal("c"), macvlan("ens37", OLD, ["b", "c"])];
  const steps = plan(
    [rt("a"), rt("b", [vnic()], false), rt("c")],
    observed(
      [container("b", ["b_internal", oldNet], true), container("c", ["c_internal", oldNet], true)],
      nets,
      undefined,
      ["c"],
    ),
  );
  assert.deepEqual(steps.map((s) => s.kind), [
    "pull_image",
    "create_internal_network",
    "create_container",
    "start",
    "settle",
    // its DHCP vNIC's client right after the start, in the same pass
    "dhcp_ensure",
    "stop",
    "report",
    "stop",
  ]);
  const create = steps[2] as Extract<Step, { kind: "create_container" }>;
  assert.deepEqual(create.spec.endpoints, [
    { network: "a_internal" },
    { network: oldNet, mac: "02:00:00:00:00:01" },
  ]);
  assert.equal(create.spec.restartPolicy, "always");
});

Deno.test("restart policy follows the intent: a stopped runtime must not come back with dockerd", () => {
  const nets = [internal("a"), internal("b"), macvlan("ens37", OLD, ["a", "b"])];
  const steps = plan(
    [rt("a", [vnic()], false), rt("b")],
    observed([
      container("a", ["a_internal", oldNet], false, "always"),
      container("b", ["b_internal", oldNet], true, "no"),
    ], nets),
  );
  assert.deepEqual(steps, [
    { kind: "stop", runtime: "a" },
    { kind: "start", runtime: "b" },
    { kind: "settle", runtime: "b" },
  ]);
});

Deno.test("stopped runtime that should run is started; before netmon sync nothing moves", () => {
  const obs = observed([container("a", ["a_internal"], false)], [internal("a")]);
  obs.parents = { synced: false, get: () => ({ state: "unknown" }) };
  assert.deepEqual(plan([rt("a")], obs), [
    { kind: "start", runtime: "a" },
    { kind: "settle", runtime: "a" },
  ]);
});

Deno.test("a labelled runtime in no desired state is adopted, never removed; a user's never touched", () => {
  const mine = container("ghost", ["ghost_internal"]);
  const users = { ...container("users-own", []), labels: {} };
  const steps = plan(
    [],
    observed([mine, users], [internal("ghost"), { ...internal("x"), labels: {} }]),
  );
  assert.deepEqual(steps.map((s) => s.kind), ["adopt", "report"]);
  const adopt = steps[0] as Extract<Step, { kind: "adopt" }>;
  assert.equal(adopt.desired.name, "ghost");
  assert.equal(adopt.desired.running, true);
  assert.equal(adopt.desired.phase, "ready");
  assert.ok(!steps.some((s) => DESTRUCTIVE.has(s.kind)));
  // An unused internal network of ours whose runtime is gone is removed; a user's never.
  const garbage = plan([], observed([], [internal("gone"), { ...internal("x"), labels: {} }]));
  assert.deepEqual(garbage, [{ kind: "remove_network", name: "gone_internal", detach: [] }]);
});

Deno.test("doubt never destroys: before trust no destructive step is planned", () => {
  const d = [rt("a", [vnic()], true, { phase: "deleting" }), rt("b", [vnic()], false)];
  const o = observed(
    [container("a", ["a_internal", oldNet]), container("b", ["b_internal", oldNet])],
    [internal("a"), internal("b"), macvlan("ens37", OLD, ["a", "b"]), internal("gone")],
    { ens37: { state: "up", subnet: NEW, gateway: null } },
  );
  const trusted = plan(d, o);
  assert.ok(trusted.some((s) => DESTRUCTIVE.has(s.kind)), "the table must be able to fail");
  const untrusted = plan(d, o, { trusted: false });
  assert.ok(!untrusted.some((s) => DESTRUCTIVE.has(s.kind)), JSON.stringify(untrusted));
  assert.ok(untrusted.some((s) => s.kind === "report" && s.problem.code === "state_unknown"));
});

Deno.test("a tombstone removes container, internal bridge, an unused MACVLAN; then forgets", () => {
  const d = [rt("a", [vnic({ docker_network_name: oldNet })], true, { phase: "deleting" })];
  const steps = plan(
    d,
    observed([container("a", ["a_internal", oldNet])], [
      internal("a"),
      macvlan("ens37", OLD, ["a"]),
    ]),
  );
  assert.deepEqual(steps, [
    // removing: its restart policy is not changed first (the removal follows)
    { kind: "stop", runtime: "a", removing: true },
    { kind: "remove_container", runtime: "a" },
    { kind: "remove_network", name: "a_internal", detach: ["a"] },
    { kind: "remove_network", name: oldNet, detach: ["a"] },
  ]);
  assert.deepEqual(plan(d, observed([], [])), [{ kind: "forget", runtime: "a" }]);
  // A MACVLAN network another runtime uses stays.
  const shared = plan(
    [...d, rt("b")],
    observed([container("a", ["a_internal", oldNet]), container("b", ["b_internal", oldNet])], [
      internal("a"),
      internal("b"),
      macvlan("ens37", OLD, ["a", "b"]),
    ]),
  );
  assert.ok(!shared.some((s) => s.kind === "remove_network" && s.name === oldNet));
});

Deno.test("a first create that cannot go on becomes a tombstone; a re-create only reports", () => {
  const o = observed([], [], { ens37: { state: "removed" } });
  const first = plan([rt("a", [vnic()], true, { phase: "creating" })], o);
  assert.equal(first.length, 1);
  assert.equal(first[0]!.kind, "fail_create");
  const again = plan([rt("a")], o);
  assert.deepEqual(again.map((s) => s.kind), ["report"]);
});

Deno.test("the cloud's parent_subnet wins over the host's: a host move does not re-wire it", () => {
  const v = vnic({ parent_subnet: OLD });
  const steps = plan(
    [rt("a", [v])],
    observed([container("a", ["a_internal", oldNet])], [
      internal("a"),
      macvlan("ens37", OLD, ["a"]),
    ], { ens37: { state: "up", subnet: NEW, gateway: null } }),
  );
  assert.deepEqual(steps, []);
});

Deno.test("a manual vNIC on a parent without a host address is created on its own subnet", () => {
  const v = vnic({
    network_mode: "manual",
    ip_address: "10.9.0.5",
    subnet: "10.9.0.0/24",
    gateway: "10.9.0.1",
  });
  const steps = plan(
    [rt("a", [v], true, { phase: "creating" })],
    observed([], [], { ens37: { state: "up", subnet: null, gateway: null } }),
  );
  const ensure = steps.find((s) => s.kind === "ensure_macvlan") as Extract<
    Step,
    { kind: "ensure_macvlan" }
  >;
  assert.deepEqual(ensure.network.subnets, [{ subnet: "10.9.0.0/24", gateway: "10.9.0.1" }]);
  assert.ok(steps.some((s) => s.kind === "create_container"));
});

Deno.test("self-destruct: tombstones and unknown runtimes go, then networks, netmon, self", () => {
  const d = [rt("a", [vnic()], true, { phase: "deleting" })];
  const steps = plan(
    d,
    observed([container("a", ["a_internal"]), container("x", [])], [
      internal("a"),
    ]),
    { selfDestruct: true },
  );
  assert.deepEqual(steps.map((s) => s.kind), [
    "remove_container",
    "stop",
    "remove_container",
    "remove_network",
  ]);
  assert.deepEqual(plan([], observed([], []), { selfDestruct: true }), [
    { kind: "remove_netmon" },
    { kind: "remove_self" },
  ]);
});

Deno.test("a restart request restarts a running runtime once", () => {
  const o = observed([container("a", ["a_internal", oldNet])], [
    internal("a"),
    macvlan("ens37", OLD, ["a"]),
  ]);
  assert.deepEqual(plan([rt("a")], o, { restarts: new Set(["a"]) }), [
    { kind: "restart", runtime: "a" },
  ]);
  assert.deepEqual(plan([rt("a")], o), []);
});

Deno.test("a MAC never verified inside the namespace is restored once, then converged", () => {
  const c = container("a", ["a_internal", oldNet]);
  c.networks[oldNet] = { network: oldNet, mac: "02:42:c6:33:64:02" };
  const obs = observed([c], [internal("a"), macvlan("ens37", OLD, ["a"])]);
  const verified = new Set<string>();
  obs.macVerified = (rt, net, mac) => verified.has(`${rt}|${net}|${mac}`);
  assert.deepEqual(plan([rt("a")], obs), [{
    kind: "restore_mac",
    runtime: "a",
    network: oldNet,
    mac: "02:00:00:00:00:01",
  }]);
  verified.add(`a|${oldNet}|02:42:c6:33:64:02`);
  assert.deepEqual(plan([rt("a")], obs), []);
});

Deno.test("DHCP clients: made sure of once per container start and per network, not otherwise", () => {
  const c = { ...container("a", ["a_internal", oldNet]), pid: 42 };
  const obs = observed([c], [internal("a"), macvlan("ens37", OLD, ["a"])]);
  const keys = new Map<string, string>();
  obs.dhcpKey = (rt) => keys.get(rt);
  const steps = plan([rt("a")], obs);
  assert.deepEqual(steps, [{ kind: "dhcp_ensure", runtime: "a", key: `42|eth0@${oldNet}` }]);
  keys.set("a", `42|eth0@${oldNet}`);
  assert.deepEqual(plan([rt("a")], obs), [], "converged: no client work");
  // A container restart (new pid, new namespace) makes sure of the clients again.
  assert.deepEqual(plan([rt("a")], { ...obs, containers: [{ ...c, pid: 43 }] }), [
    { kind: "dhcp_ensure", runtime: "a", key: `43|eth0@${oldNet}` },
  ]);
  // A manual vNIC needs no client; a stopped runtime none either.
  const manual = vnic({ network_mode: "manual", ip_address: "198.51.100.9" });
  assert.deepEqual(plan([rt("a", [manual])], obs), []);
  // After a restart of the agent, clients of runtimes deleted meanwhile are pruned once.
  assert.deepEqual(plan([rt("a")], obs, { dhcpPruned: false }).map((s) => s.kind), [
    "dhcp_prune",
  ]);
  assert.ok(
    !plan([rt("a")], obs, { dhcpPruned: false, trusted: false }).some((s) =>
      s.kind === "dhcp_prune"
    ),
    "no prune before trust",
  );
});
