/**
 * DHCP benchmark (issue 12, "Performance"): DHCP vNICs through the whole agent against a real
 * busybox udhcpd on a LAN in a namespace this script owns. Three parts, one stack (dev control
 * plane, netmon, agent):
 *
 * 1. **Create → bound**, N runtimes one after another on a plant NIC without a host address (a
 *    host veth whose peer is a port of the LAN bridge; the cloud gives `parent_subnet`): from the
 *    create ack to `get_device_status` reporting `bound` (`create_to_bound_*`), and from the
 *    container's start (`docker inspect` StartedAt) to the lease being on the interface (the
 *    event script's `.lease` file, written right after it applied the address:
 *    `started_to_bound_*`), and from there to the status showing it (`bound_to_reported_*`).
 * 2. **Agent kill -9 → every lease re-confirmed**: kill, start, until every runtime's status says
 *    `bound` with the address it had; any other address counts as a change (aim: 0). Then
 *    {@linkcode HOLD_MS} more of watching: a status not `bound` with that address is a flap.
 *    Meanwhile the address inside each runtime is sampled every {@linkcode SAMPLE_MS}: a sample
 *    without exactly it is a gap (aim: 0).
 *    The re-wire figures also split the time: all attached to the new network, all clients
 *    started on the new interface (the agent's part), all bound (the DHCP exchange on top).
 * 3. **Re-wire with DHCP vNICs**: N runtimes on a parent WITH a host address (no `parent_subnet`,
 *    so the host's view drives the move); the server's namespace moves to another range, then
 *    the host address moves: time until every runtime is `bound` in the new range, minus netmon's
 *    debounce (as the `rewire` rows).
 *
 * Host ranges come from scripts/free_range.ts. Everything made is removed at the end (also on
 * failure): containers, networks, links, the namespaces, udhcpc clients left by the agent.
 * Prints one JSON object on the last line. Needs root, a Docker engine and /bin/busybox.
 *
 * Usage: deno run -A scripts/bench_dhcp.ts [--runtimes 10] [--restarts 3] [--moves 2]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEVICE, inside, removeByPrefix, type Stack, startStack } from "../tests/stack_helpers.ts";
import { ensureStandin, sh } from "../tests/docker_helpers.ts";
import { percentile } from "../tests/dhcp_helpers.ts";
import { freeLans, type Lan } from "./free_range.ts";

const BB = "/bin/busybox";
/** netmon's debounce in this stack (as bench_rewire.ts). */
const DEBOUNCE_MS = 500;
/** Status poll period while timing: small against the ~1 s aim, light on 2 cores. */
const POLL_MS = 50;
/** Ack timeout of a status poll (an answer takes a few ms). */
const STATUS_ACK_MS = 3_000;
/** Address sampling period inside the runtimes during an agent restart. */
const SAMPLE_MS = 250;
/** udhcpd's ARP check of an address before offering it (its default is 2000 ms; the tests use
 * 100 ms too). A plant's server may probe longer: that time is the server's, not ours. */
const SERVER_ARP_MS = 100;
/** Watch after every lease is re-confirmed: longer than the supervisor's liveness check period
 * of adopted clients (ADOPTED_CHECK_MS, 5 s), so its first check falls inside. */
const HOLD_MS = 6_000;
/** Lease time: long enough that no renewal falls inside a measurement. */
const LEASE_S = 3600;
/** Give-up time of one wait (a hung wait fails the bench, it does not hang it). */
const WAIT_MS = 90_000;
/** File stem of vNIC `eth0` under `<stateDir>/dhcp/<runtime>/` (hex of the name). */
const ETH0_HEX = "65746830";

const { values } = parseArgs({
  options: {
    runtimes: { type: "string", default: "10" },
    restarts: { type: "string", default: "3" },
    moves: { type: "string", default: "2" },
  },
});
const N = Number(values.runtimes);
const RESTARTS = Number(values.restarts);
const MOVES = Number(values.moves);

type Net = { ip_address?: string | null; dhcp?: { state?: string } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[bench_dhcp] ${msg}`);

/** Docker's StartedAt (RFC 3339 with nanoseconds) as epoch ms. */
export function startedAtMs(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text.trim());
  if (!m) throw new Error(`Not a Docker time: "${text}"`);
  const frac = (m[2] ?? "").padEnd(3, "0").slice(0, 3);
  return Date.parse(`${m[1]}.${frac}${m[3]}`);
}

/** A LAN namespace: bridge `br0` with the router address and busybox udhcpd serving `.100-.199`. */
class BenchLan {
  #server: Deno.ChildProcess | null = null;
  #log = "";
  lan: Lan;

  private constructor(readonly ns: string, readonly dir: string, lan: Lan) {
    this.lan = lan;
  }

  static async create(ns: string, lan: Lan): Promise<BenchLan> {
    const dir = await Deno.makeTempDir({ prefix: "eo-bench-dhcp-lan-" });
    const l = new BenchLan(ns, dir, lan);
    await sh("ip", "netns", "add", ns);
    await sh("ip", "-n", ns, "link", "set", "lo", "up");
    await sh("ip", "-n", ns, "link", "add", "br0", "type", "bridge");
    await sh("ip", "-n", ns, "addr", "add", lan.cidr(1), "dev", "br0");
    await sh("ip", "-n", ns, "link", "set", "br0", "up");
    await l.startServer();
    return l;
  }

  inRange(ip: string | null | undefined, lan = this.lan): boolean {
    if (!ip) return false;
    const last = Number(ip.split(".")[3]);
    return ip.startsWith(lan.at(1).replace(/\.1$/, ".")) && last >= 100 && last <= 199;
  }

  /** A veth `host` in the host namespace whose peer `peer` is a port of the bridge. */
  async plug(host: string, peer: string): Promise<void> {
    await sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", this.ns);
    await sh("ip", "-n", this.ns, "link", "set", peer, "master", "br0");
    await sh("ip", "-n", this.ns, "link", "set", peer, "up");
    await sh("ip", "link", "set", host, "up");
  }

  async startServer(): Promise<void> {
    const l = this.lan;
    await Deno.writeTextFile(`${this.dir}/leases`, "");
    await Deno.writeTextFile(
      `${this.dir}/udhcpd.conf`,
      [
        `start ${l.at(100)}`,
        `end ${l.at(199)}`,
        "interface br0",
        `lease_file ${this.dir}/leases`,
        `pidfile ${this.dir}/udhcpd.pid`,
        `option lease ${LEASE_S}`,
        `option subnet ${l.netmask}`,
        `option router ${l.at(1)}`,
        `option dns ${l.at(53)}`,
        "",
      ].join("\n"),
    );
    this.#server = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        this.ns,
        BB,
        "udhcpd",
        "-f",
        "-a",
        String(SERVER_ARP_MS),
        `${this.dir}/udhcpd.conf`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        const at = new Date().toISOString();
        const lines = t.split("\n").filter(Boolean).map((l) => `${at} ${l}\n`).join("");
        this.#log = (this.#log + lines).slice(-200_000);
      }
    };
    void collect(this.#server.stdout);
    void collect(this.#server.stderr);
    // udhcpd binds its socket within a few ms; 200 ms leaves margin on a loaded machine.
    await sleep(200);
  }

  async stopServer(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    try {
      s.kill("SIGTERM");
    } catch { /* gone */ }
    await s.status;
  }

  /** The server and router move to `to` (a new lease table: the old range's leases are void). */
  async move(to: Lan): Promise<void> {
    await this.stopServer();
    await sh("ip", "-n", this.ns, "addr", "flush", "dev", "br0");
    await sh("ip", "-n", this.ns, "addr", "add", to.cidr(1), "dev", "br0");
    this.lan = to;
    await this.startServer();
  }

  serverLog(): string {
    return this.#log;
  }

  async destroy(): Promise<void> {
    await this.stopServer();
    await sh("ip", "netns", "del", this.ns).catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** The DHCP networks of a status: network name → entry (entries with a `dhcp` field). */
function dhcpNets(st: Record<string, unknown>): [string, Net][] {
  return Object.entries((st.networks ?? {}) as Record<string, Net>).filter(([, n]) => n?.dhcp);
}

/** A status with a short ack timeout: a send that went to a socket dying under it (agent just
 * killed) is given up on and polled again, not waited for 30 s. */
async function status(stack: Stack, id: string): Promise<Record<string, unknown>> {
  try {
    return await stack.cloud.send(
      DEVICE,
      "get_device_status",
      { device_id: id },
      STATUS_ACK_MS,
    ) as Record<
      string,
      unknown
    >;
  } catch (e) {
    return { send_error: String(e) };
  }
}

/** Kills the agent (-9) and starts it; resolves when the cloud has the NEW session. (The stack's
 * own wait returns at once while the cloud still holds the killed agent's socket.) */
async function killAndRestart(stack: Stack): Promise<void> {
  const before = stack.cloud.connections(DEVICE);
  await stack.restartAgent(true);
  const end = Date.now() + WAIT_MS;
  while (stack.cloud.connections(DEVICE) <= before) {
    if (Date.now() > end) throw new Error("the restarted agent never connected");
    await sleep(10);
  }
}

/** Polls until `ok` holds for the status of `id`; returns the instant (Date.now()) it first did. */
async function until(
  stack: Stack,
  id: string,
  ok: (s: Record<string, unknown>) => boolean,
  what: string,
): Promise<{ at: number; status: Record<string, unknown> }> {
  const end = Date.now() + WAIT_MS;
  let last: Record<string, unknown> = {};
  while (Date.now() < end) {
    last = await status(stack, id);
    if (ok(last)) return { at: Date.now(), status: last };
    await sleep(POLL_MS);
  }
  throw new Error(`${id}: never ${what}; last status ${JSON.stringify(last).slice(0, 600)}`);
}

const boundIn = (net: string) => (s: Record<string, unknown>) => {
  const n = ((s.networks ?? {}) as Record<string, Net>)[net];
  return n?.dhcp?.state === "bound" && !!n.ip_address;
};

/** Epoch ms at which the event script last wrote the vNIC's lease. */
async function leaseWrittenAt(stateDir: string, runtime: string): Promise<number> {
  const st = await Deno.stat(`${stateDir}/dhcp/${runtime}/${ETH0_HEX}.lease`);
  return st.mtime?.getTime() ?? NaN;
}

/** IPv4 addresses inside each runtime on the link with its vNIC's MAC, in one shell. */
async function addressesInside(
  where: { name: string; pid: number; ifname: string }[],
): Promise<Map<string, string[]>> {
  const script = where.map((w) =>
    `echo "@${w.name}"; nsenter -t ${w.pid} -n ip -o -4 addr show dev ${w.ifname} 2>/dev/null`
  ).join("; ");
  const out = await sh("sh", "-c", `${script}; true`).catch(() => "");
  const res = new Map<string, string[]>();
  let cur = "";
  for (const line of out.split("\n")) {
    if (line.startsWith("@")) {
      cur = line.slice(1);
      res.set(cur, []);
    } else {
      const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(line);
      if (m && cur) res.get(cur)!.push(m[1]!);
    }
  }
  return res;
}

/** Pid and LAN interface (by the vNIC's persisted MAC) of each runtime. */
async function lanLinks(
  stateDir: string,
  names: string[],
): Promise<{ name: string; pid: number; ifname: string }[]> {
  const file = JSON.parse(await Deno.readTextFile(`${stateDir}/runtime_vnics.json`));
  const out = [];
  for (const name of names) {
    const mac = String(file[name]?.[0]?.mac_address ?? "").toLowerCase();
    const pid = Number((await sh("docker", "inspect", "-f", "{{.State.Pid}}", name)).trim());
    const links = (await inside(name)).links;
    const ifname = Object.entries(links).find(([, m]) => m === mac)?.[0];
    if (!ifname) throw new Error(`${name}: no link with MAC ${mac}: ${JSON.stringify(links)}`);
    out.push({ name, pid, ifname });
  }
  return out;
}

async function deleteAll(stack: Stack, names: string[]): Promise<void> {
  for (const n of names) await stack.send("delete_device", { device_id: n }).catch(() => {});
  for (const n of names) {
    await until(stack, n, (s) => s.status === "not_found", "deleted").catch((e) => log(String(e)));
  }
}

/** Epoch ms of the agent's first "dhcp: client started" line for `runtime`, or null. */
export function clientStartedAt(output: string, runtime: string): number | null {
  for (const line of output.split("\n")) {
    const m = /^(\S+) INFO dhcp: client started .*\bruntime=(\S+)/.exec(line);
    if (m && m[2] === runtime) return Date.parse(m[1]!);
  }
  return null;
}

/** Epoch ms of each runtime's first "dhcp: client started" line at or after `since`, and how
 * many more such lines there were (clients started again for nothing). */
export function clientStartsSince(
  output: string,
  since: number,
  runtimes: string[],
): { first: number[]; extra: number } {
  const first = new Map<string, number>();
  let extra = 0;
  for (const line of output.split("\n")) {
    const m = /^(\S+) INFO dhcp: client started .*\bruntime=(\S+)/.exec(line);
    if (!m || !runtimes.includes(m[2]!)) continue;
    const at = Date.parse(m[1]!);
    if (at < since) continue;
    if (first.has(m[2]!)) extra++;
    else first.set(m[2]!, at);
  }
  return { first: [...first.values()], extra };
}

/** Part 1: create one runtime at a time, time each to `bound`. */
async function createToBound(
  stack: Stack,
  lan: BenchLan,
  names: string[],
  parent: string,
): Promise<Record<string, number>> {
  const net = lan.lan.macvlan(parent);
  const ackToBound: number[] = [];
  const startedToBound: number[] = [];
  const boundToReported: number[] = [];
  const ackToStarted: number[] = [];
  let outOfPool = 0;
  for (const name of names) {
    const ack = await stack.send("create_new_runtime", {
      container_name: name,
      vnic_configs: [{
        name: "eth0",
        parent_interface: parent,
        network_mode: "dhcp",
        parent_subnet: lan.lan.subnet,
        parent_gateway: lan.lan.at(1),
      }],
    });
    const tAck = Date.now();
    if (ack.status === "error") throw new Error(`create ${name}: ${JSON.stringify(ack)}`);
    const seen = await until(stack, name, boundIn(net), "bound");
    const started = startedAtMs(
      await sh("docker", "inspect", "-f", "{{.State.StartedAt}}", name),
    );
    const written = await leaseWrittenAt(stack.stateDir, name);
    const ip = ((seen.status.networks ?? {}) as Record<string, Net>)[net]?.ip_address;
    if (!lan.inRange(ip)) outOfPool++;
    ackToBound.push(seen.at - tAck);
    startedToBound.push(written - started);
    boundToReported.push(seen.at - written);
    ackToStarted.push(started - tAck);
    log(
      `${name}: ${ip} ack->bound ${seen.at - tAck} ms, started->bound ${written - started} ms, ` +
        `bound->reported ${seen.at - written} ms`,
    );
  }
  // Docker's IPAM address lives on the interface from the start until the agent removes it,
  // right before it starts the client and logs "dhcp: client started" (an upper bound).
  const window: number[] = [];
  for (const name of names) {
    const started = startedAtMs(
      await sh("docker", "inspect", "-f", "{{.State.StartedAt}}", name),
    );
    const at = clientStartedAt(stack.agent.output(), name);
    if (at !== null) window.push(at - started);
  }
  const r = (xs: number[]) => Math.round(percentile(xs, 50));
  const q = (xs: number[]) => Math.round(percentile(xs, 95));
  return {
    [`create_to_bound_p50_ms`]: r(ackToBound),
    [`create_to_bound_p95_ms`]: q(ackToBound),
    [`started_to_bound_p50_ms`]: r(startedToBound),
    [`started_to_bound_p95_ms`]: q(startedToBound),
    [`bound_to_reported_p50_ms`]: r(boundToReported),
    [`bound_to_reported_p95_ms`]: q(boundToReported),
    [`create_to_started_p50_ms`]: r(ackToStarted),
    ipam_address_window_p50_ms: r(window),
    ipam_address_window_max_ms: Math.max(...window),
    leases_outside_pool: outOfPool,
  };
}

/** Part 2: kill -9 the agent, start it, until every lease is reported bound with its address. */
async function agentRestarts(
  stack: Stack,
  lan: BenchLan,
  names: string[],
  parent: string,
): Promise<Record<string, number>> {
  const net = lan.lan.macvlan(parent);
  const ipOf = (s: Record<string, unknown>) =>
    ((s.networks ?? {}) as Record<string, Net>)[net]?.ip_address ?? null;
  const before = new Map<string, string>();
  for (const n of names) {
    before.set(n, ipOf((await until(stack, n, boundIn(net), "bound")).status)!);
  }
  const where = await lanLinks(stack.stateDir, names);
  const connected: number[] = [];
  const reconfirmed: number[] = [];
  let changes = 0;
  let gaps = 0;
  let samples = 0;
  let flaps = 0;
  for (let r = 0; r < RESTARTS; r++) {
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const [name, addrs] of await addressesInside(where)) {
          samples++;
          if (addrs.length !== 1 || addrs[0] !== before.get(name)) gaps++;
        }
        await sleep(SAMPLE_MS);
      }
    })();
    const t0 = Date.now();
    await killAndRestart(stack);
    connected.push(Date.now() - t0);
    const changed = new Set<string>();
    const pending = new Set(names);
    const end = Date.now() + WAIT_MS;
    while (pending.size > 0 && Date.now() < end) {
      for (const n of [...pending]) {
        const s = await status(stack, n);
        const ip = ipOf(s);
        if (ip && ip !== before.get(n)) changed.add(n);
        if (boundIn(net)(s) && ip === before.get(n)) pending.delete(n);
      }
      if (pending.size > 0) await sleep(POLL_MS);
    }
    if (pending.size > 0) {
      sampling = false;
      await sampler;
      throw new Error(`not re-confirmed after restart: ${[...pending]}`);
    }
    reconfirmed.push(Date.now() - t0);
    // Hold: statuses and addresses keep being watched past the supervisor's first liveness check
    // of the clients it adopted, so a late flap counts too.
    const hold = Date.now() + HOLD_MS;
    while (Date.now() < hold) {
      for (const n of names) {
        const s = await status(stack, n);
        const ip = ipOf(s);
        if (ip && ip !== before.get(n)) changed.add(n);
        if (!boundIn(net)(s) || ip !== before.get(n)) flaps++;
      }
      await sleep(SAMPLE_MS);
    }
    sampling = false;
    await sampler;
    changes += changed.size;
    log(
      `restart ${r + 1}: connected ${connected.at(-1)} ms, every lease re-confirmed ` +
        `${reconfirmed.at(-1)} ms, address changes ${changed.size}`,
    );
  }
  return {
    agent_restart_to_connected_ms: Math.round(percentile(connected, 50)),
    agent_restart_to_reconfirmed_ms: Math.round(percentile(reconfirmed, 50)),
    agent_restart_to_reconfirmed_max_ms: Math.max(...reconfirmed),
    agent_restart_address_changes: changes,
    agent_restart_samples_without_lease: gaps,
    agent_restart_status_flaps_after_reconfirmed: flaps,
    agent_restart_samples: samples,
  };
}

/** Containers attached to a Docker network (0 when it does not exist). */
async function attachedCount(network: string): Promise<number> {
  const out = await sh("docker", "network", "inspect", "-f", "{{len .Containers}}", network)
    .catch(() => "0");
  return Number(out.trim()) || 0;
}

/** Part 3: subnet moves of a parent with a host address, DHCP vNICs re-leased in the new range. */
async function rewire(
  stack: Stack,
  lan: BenchLan,
  names: string[],
  parent: string,
  ranges: Lan[],
): Promise<Record<string, number>> {
  for (const name of names) {
    const ack = await stack.send("create_new_runtime", {
      container_name: name,
      vnic_configs: [{ name: "eth0", parent_interface: parent, network_mode: "dhcp" }],
    });
    if (ack.status === "error") throw new Error(`create ${name}: ${JSON.stringify(ack)}`);
  }
  const boundInRange = (to: Lan) => (s: Record<string, unknown>) =>
    dhcpNets(s).some(([k, n]) =>
      k === to.macvlan(parent) && n.dhcp?.state === "bound" && lan.inRange(n.ip_address, to)
    );
  for (const n of names) await until(stack, n, boundInRange(lan.lan), "bound before the move");
  const all: number[] = [];
  const each: number[] = [];
  const attached: number[] = [];
  const clients: number[] = [];
  let extraStarts = 0;
  for (let m = 0; m < MOVES; m++) {
    const from = lan.lan;
    const to = ranges[(m + 1) % ranges.length]!;
    // The LAN moves first (server and router), then the host's address: netmon's change event
    // is what the agent follows.
    await lan.move(to);
    const t0 = Date.now();
    await sh("ip", "addr", "del", from.cidr(250), "dev", parent);
    await sh("ip", "addr", "add", to.cidr(250), "dev", parent);
    const pending = new Set(names);
    const end = Date.now() + WAIT_MS;
    let attachedAt = 0;
    while (pending.size > 0 && Date.now() < end) {
      if (!attachedAt && (await attachedCount(to.macvlan(parent))) >= names.length) {
        attachedAt = Date.now() - t0 - DEBOUNCE_MS;
      }
      for (const n of [...pending]) {
        if (boundInRange(to)(await status(stack, n))) {
          pending.delete(n);
          each.push(Date.now() - t0 - DEBOUNCE_MS);
        }
      }
      if (pending.size > 0) await sleep(POLL_MS);
    }
    if (pending.size > 0) {
      const last = await status(stack, [...pending][0]!);
      throw new Error(
        `move ${m + 1}: not bound in ${to.subnet}: ${[...pending]}; ` +
          `${JSON.stringify(last.networks ?? last).slice(0, 600)}`,
      );
    }
    all.push(Date.now() - t0 - DEBOUNCE_MS);
    attached.push(attachedAt || all.at(-1)!);
    // The agent's part ends when the last client is started on the new interface; the rest is
    // the DHCP exchange (the server answers one DISCOVER at a time, after its ARP check).
    // Read once the clients had time to settle (a redundant restart shows within a tick).
    await sleep(1_500);
    const starts = clientStartsSince(stack.agent.output(), t0, names);
    clients.push(
      starts.first.length === names.length ? Math.max(...starts.first) - t0 - DEBOUNCE_MS : NaN,
    );
    extraStarts += starts.extra;
    log(
      `move ${m + 1} ${from.subnet} -> ${to.subnet}: all attached ${attached.at(-1)} ms, ` +
        `all clients started ${clients.at(-1)} ms, all bound ${all.at(-1)} ms (minus debounce)`,
    );
  }
  return {
    [`rewire_${names.length}_all_bound_ms_minus_debounce`]: Math.round(percentile(all, 50)),
    [`rewire_${names.length}_all_bound_max_ms_minus_debounce`]: Math.max(...all),
    [`rewire_${names.length}_bound_p50_ms_minus_debounce`]: Math.round(percentile(each, 50)),
    [`rewire_${names.length}_attached_ms_minus_debounce`]: Math.round(percentile(attached, 50)),
    [`rewire_${names.length}_clients_started_ms_minus_debounce`]: Math.round(
      percentile(clients, 50),
    ),
    rewire_extra_client_starts: extraStarts,
    rewire_moves: MOVES,
  };
}

/** Ends udhcpc clients the agent of this run left (their script lives under `dir`), by pid. */
async function reapClients(dir: string): Promise<void> {
  const out = await sh("pgrep", "-f", `udhcpc .*-s ${dir}/`).catch(() => "");
  for (const pid of out.split("\n").filter(Boolean)) {
    await sh("kill", "-9", pid).catch(() => {});
  }
}

async function skipReason(): Promise<string | null> {
  if (Deno.uid() !== 0) return "needs root (network namespaces, MACVLAN, nsenter)";
  try {
    await Deno.stat(BB);
  } catch {
    return `no ${BB} (apt-get install busybox-static)`;
  }
  try {
    await sh("docker", "info", "--format", "{{.ServerVersion}}");
  } catch {
    return "no Docker engine answers";
  }
  return null;
}

if (import.meta.main) {
  const skip = await skipReason();
  if (skip) {
    console.log(JSON.stringify({ skipped: skip }));
    Deno.exit(0);
  }
  await ensureStandin();
  const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
  // Plant NIC without a host address (parts 1-2) and one with an address (part 3).
  const bare = `eobd${id}a`;
  const addressed = `eobd${id}b`;
  const prefix = `eobd-${id}-`;
  const [lanA, lanB, lanC] = await freeLans(3);
  const dir = await Deno.makeTempDir({ prefix: "eo-bench-dhcp-" });
  // Another job restarting dockerd mid-run (e.g. the soak) restarts our runtimes and spoils the
  // figures: flagged in the output.
  const dockerdPid = () => sh("pidof", "dockerd").then((t) => t.trim(), () => "");
  const dockerdAtStart = await dockerdPid();
  const lans: BenchLan[] = [];
  let stack: Stack | null = null;
  const results: Record<string, number> = { runtimes: N, debounce_ms: DEBOUNCE_MS };
  let failed: unknown = null;
  try {
    const lan1 = await BenchLan.create(`eobdl${id}a`, lanA!);
    lans.push(lan1);
    await lan1.plug(bare, `eobq${id}a`);
    const lan2 = await BenchLan.create(`eobdl${id}b`, lanB!);
    lans.push(lan2);
    await lan2.plug(addressed, `eobq${id}b`);
    await sh("ip", "addr", "add", lanB!.cidr(250), "dev", addressed);
    stack = await startStack(dir, DEBOUNCE_MS);
    log(`LANs ${lanA!.subnet} (no host address), ${lanB!.subnet} -> ${lanC!.subnet} (moves)`);

    const created = Array.from({ length: N }, (_, i) => `${prefix}c${i}`);
    log(`part 1: create -> bound, ${N} runtimes one after another`);
    Object.assign(results, await createToBound(stack, lan1, created, bare));
    if (RESTARTS > 0) {
      log(`part 2: agent kill -9 -> every lease re-confirmed, ${RESTARTS} times`);
      Object.assign(results, await agentRestarts(stack, lan1, created, bare));
    }
    await deleteAll(stack, created);
    if (MOVES > 0) {
      log(`part 3: subnet moves with ${N} DHCP runtimes`);
      const moved = Array.from({ length: N }, (_, i) => `${prefix}w${i}`);
      Object.assign(results, await rewire(stack, lan2, moved, addressed, [lanB!, lanC!]));
      await deleteAll(stack, moved);
    }
  } catch (e) {
    failed = e;
    console.error(e);
    for (const l of lans) console.error(`[bench_dhcp] udhcpd ${l.ns}:\n${l.serverLog()}`);
    if (stack) {
      const path = await Deno.makeTempFile({ prefix: "eo-bench-dhcp-agent-", suffix: ".log" });
      await Deno.writeTextFile(path, stack.agent.output());
      console.error(`[bench_dhcp] agent log kept in ${path}`);
    }
  } finally {
    // BENCH_DHCP_LOG=<file>: the last agent's output, to see where the time goes.
    const keep = Deno.env.get("BENCH_DHCP_LOG");
    if (keep && stack) await Deno.writeTextFile(keep, stack.agent.output()).catch(() => {});
    if (keep) {
      const servers = lans.map((l) => `== udhcpd ${l.ns}\n${l.serverLog()}`).join("");
      await Deno.writeTextFile(`${keep}.udhcpd`, servers).catch(() => {});
    }
    await stack?.stop().catch(() => {});
    await removeByPrefix([prefix, `macvlan_${bare}_`, `macvlan_${addressed}_`]);
    await reapClients(dir);
    await sh("ip", "link", "del", bare).catch(() => {});
    await sh("ip", "link", "del", addressed).catch(() => {});
    for (const l of lans) await l.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if ((await dockerdPid()) !== dockerdAtStart) {
    log("dockerd restarted during the run (by something else): figures spoiled, run again");
    Object.assign(results, { dockerd_restarted_during_run: 1 });
  }
  if (failed) {
    console.log(JSON.stringify({ failed: String(failed).slice(0, 300), ...results }));
    Deno.exit(1);
  }
  console.log(JSON.stringify(results));
}
