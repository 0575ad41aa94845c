/**
 * `deno task demo`: the main job on an embedded default, on one machine with a Docker engine.
 * Starts the local control plane (in this process), netmon and the agent (as processes, with
 * their permission flags from permissions.json), builds the stand-in runtime image when missing,
 * makes a veth parent whose far end sits in a "plant LAN" namespace (or uses `--parent IFACE`),
 * creates a demo vPLC on a MACVLAN network over it and shows, in plain words, what happened:
 * device id, runtime, its IP and MAC, a `run_command` round trip, a ping from the LAN. Every step
 * it prints is checked: a step that fails ends the demo with its reason.
 *
 * The plant LAN's range is picked so that it overlaps no route of the machine and no address it
 * needs (scripts/free_range.ts); it is not a fixed documentation range.
 *
 * Ctrl-C, SIGTERM or `--once` removes everything it made. A terminal's Ctrl-C signals the whole
 * foreground process group, so netmon and the agent run in their own session (`setsid`): the agent
 * is still there to delete the runtime. Whatever is left after that (agent gone, deletion timed
 * out) is removed through Docker and iproute2 directly. `cleaned up` is printed only after checking
 * that no container, network, link, namespace or process of the demo remains; otherwise the demo
 * lists what remains and exits with 1.
 *
 * Flags: `--parent IFACE` (use a real interface, DHCP), `--once` (exit after the round trip),
 * `--keep` (leave the runtime, its networks and the LAN), `--web-port N` (web page; 8444, 0 = any
 * free port), `--force` (run although another orchestrator's runtimes exist on the engine: its
 * agent would adopt them). `DEMO_DEBUG=1` keeps the working directory (logs) and times each
 * cleanup step.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadPermissions, runArgs } from "./permissions.ts";
import { startDevCloud } from "./devcloud/server.ts";
import { freeLans, type Lan } from "./free_range.ts";

const USAGE = `Usage: deno task demo [--once] [--keep] [--parent IFACE] [--web-port N] [--force]
  --once          exit (and clean up) after the round trip
  --keep          leave the runtime, its networks and the LAN when exiting
  --parent IFACE  put the vPLC on a real interface (DHCP) instead of a veth LAN
  --web-port N    port of the control plane's web page (default 8444, 0 = any free port)
  --force         run although another orchestrator's runtimes are on the engine`;

let values: {
  parent?: string;
  once: boolean;
  keep: boolean;
  force: boolean;
  help: boolean;
  "web-port": string;
};
try {
  values = parseArgs({
    options: {
      parent: { type: "string" },
      once: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      "web-port": { type: "string", default: "8444" },
    },
  }).values as typeof values;
} catch (err) {
  console.error(`[demo] ${err instanceof Error ? err.message : err}\n${USAGE}`);
  Deno.exit(2);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const say = (line: string) => console.log(`\x1b[1m[demo]\x1b[0m ${line}`);
const DEVICE = "demo-device";
const RUNTIME = "demo-plc";
const PARENT = values.parent ?? "eodemo0";
const LAN_NS = "eo-demo-lan";
const INTERNAL_NET = `${RUNTIME}_internal`;
/** Host number of the parent's address, the LAN host in the namespace and the vPLC. */
const HOST_PARENT = 1, HOST_LAN = 254, HOST_PLC = 50;
const madeLan = !values.parent;
/** "pid workdir" of every child, so the next demo can stop the children of one killed with
 * SIGKILL (they run in their own session and would outlive it, reconciling on the engine). */
const PIDFILE = "/tmp/eo-demo.pids";
const secs = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/** Raised when a signal ends a step early. */
class Interrupted extends Error {}
/** A step that answered, but wrongly: not retried. */
class StepError extends Error {}

// ---- signals: installed first, so a Ctrl-C at any moment ends in the cleanup ------------------
const abort = new AbortController();
let waitingForCtrlC = false;
const interrupted = new Promise<never>((_, reject) => {
  abort.signal.addEventListener("abort", () => reject(new Interrupted("interrupted")));
});
interrupted.catch(() => {});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    // `deno task` forwards the signal too, so one Ctrl-C arrives twice: say it once.
    if (abort.signal.aborted) return;
    say(`${sig}: removing everything the demo made (this takes a few seconds) ...`);
    abort.abort();
  });
}

/** `p`, unless a signal comes first. */
function step<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, interrupted]);
}

async function sh(cmd: string, args: string[], check = true): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (check && !out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text.trim()}`);
  return text;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` every 500 ms until it gives a value; throws on timeout or when interrupted (unless
 * `always`, for the cleanup). */
async function poll<T>(
  what: string,
  ms: number,
  fn: () => Promise<T | null>,
  always = false,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!always && abort.signal.aborted) throw new Interrupted("interrupted");
    const v = await fn().catch((e) => {
      if (e instanceof StepError) throw e;
      return null;
    });
    if (v !== null) return v;
    await sleep(500);
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

async function preflight(): Promise<void> {
  // `id -u` rather than Deno.uid(): the demo task's flags do not include --allow-sys.
  if ((await sh("id", ["-u"], false)).trim() !== "0") {
    throw new Error("the demo creates a veth parent and MACVLAN networks: run it as root");
  }
  const docker = await sh("docker", ["info", "--format", "{{.ServerVersion}}"], false);
  if (!/^\d/.test(docker.trim())) {
    throw new Error("no Docker engine answers: start one (sudo bash scripts/ensure_docker.sh)");
  }
  if (!(await sh("sh", ["-c", "command -v setsid"], false)).trim()) {
    throw new Error("setsid is missing (apt-get install util-linux)");
  }
  // The agent adopts every runtime labelled as ours on the engine (it rebuilds its state from
  // labels), so next to another orchestrator it would take over that one's runtimes.
  const others = (await sh("docker", [
    "ps",
    "-a",
    "--filter",
    "label=io.edge-orchestrator.managed=1",
    "--format",
    "{{.Names}}",
  ])).split("\n").filter((n) => n && n !== RUNTIME);
  if (others.length > 0 && !values.force) {
    throw new Error(
      `another edge-orchestrator manages runtimes on this engine (${
        others.slice(0, 5).join(", ")
      }` +
        `${others.length > 5 ? ", ..." : ""}): the demo's agent would adopt them. ` +
        "Stop it first, or pass --force",
    );
  }
  await stopLeftoverChildren();
  // A demo killed with SIGKILL leaves its runtime behind; the new agent would adopt it.
  const leftovers = await dockerRemains();
  if (leftovers.length > 0) {
    say(`removing leftovers of an earlier demo: ${leftovers.join(", ")}`);
    await dockerRemove();
  }
}

// ---- what the demo makes, and how to remove and find it without the agent ---------------------

/** `/proc/<pid>/<file>`, or null when the process is gone. Read through `cat`: Deno grants
 * /proc/<pid> only with -A. */
async function procFile(pid: number, file: string): Promise<string | null> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/${file}`], stderr: "null" })
    .output();
  return out.success ? new TextDecoder().decode(out.stdout) : null;
}

/** Stops the netmon and agent of an earlier demo killed with SIGKILL: the pids in PIDFILE whose
 * command line still names that demo's log file (so a reused pid is never touched). */
async function stopLeftoverChildren(): Promise<void> {
  const lines = (await Deno.readTextFile(PIDFILE).catch(() => "")).split("\n").filter(Boolean);
  const workdirs = new Set<string>();
  for (const line of lines) {
    const [pid, log] = line.split(" ");
    const workdir = log?.replace(/\/[^/]+$/, "") ?? "";
    if (/\/eo-demo-[^/]+$/.test(workdir)) workdirs.add(workdir);
    const cmdline = await procFile(Number(pid), "cmdline") ?? "";
    if (!workdir.startsWith("/") || !/^\d+$/.test(pid ?? "") || !cmdline.includes(workdir)) {
      continue;
    }
    say(`stopping pid ${pid} left running by an earlier demo (${workdir})`);
    await sh("kill", ["-TERM", pid!], false);
    for (let i = 0; i < 20 && (await procFile(Number(pid), "cmdline")) !== null; i++) {
      await sleep(500); // up to 10 s: the agent stops in well under a second
    }
    await sh("kill", ["-KILL", pid!], false);
  }
  // Its working directory (certificates, state, logs) too: nothing of that demo runs any more,
  // and only a directory this demo's own prefix names is touched.
  for (const dir of workdirs) {
    const removed = await Deno.remove(dir, { recursive: true }).then(() => true, () => false);
    if (removed) say(`removed the working directory ${dir} of an earlier demo`);
  }
  await Deno.remove(PIDFILE).catch(() => {});
}

/** Containers and networks of the demo on the engine, as `kind name` lines. */
async function dockerRemains(): Promise<string[]> {
  const out: string[] = [];
  const containers = await sh("docker", [
    "ps",
    "-a",
    "--filter",
    `name=^${RUNTIME}$`,
    "--format",
    "{{.Names}}",
  ], false);
  out.push(...containers.split("\n").filter(Boolean).map((n) => `container ${n}`));
  const nets = (await sh("docker", ["network", "ls", "--format", "{{.Name}}"], false)).split("\n");
  out.push(
    ...nets.filter((n) => n === INTERNAL_NET || (madeLan && n.startsWith(`macvlan_${PARENT}_`)))
      .map((n) => `network ${n}`),
  );
  return out;
}

/** Links and namespaces of the demo on the host. */
async function hostRemains(internalBridge: string | null): Promise<string[]> {
  const out: string[] = [];
  const links = (await sh("ip", ["-o", "link", "show"], false)).split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "");
  for (const name of [madeLan ? PARENT : null, internalBridge]) {
    if (name && links.includes(name)) out.push(`link ${name}`);
  }
  const namespaces = (await sh("ip", ["netns", "list"], false)).split("\n")
    .map((l) => l.split(" ")[0]);
  if (madeLan && namespaces.includes(LAN_NS)) out.push(`namespace ${LAN_NS}`);
  return out;
}

/** Removes the demo's runtime and networks through Docker (when the agent could not). */
async function dockerRemove(): Promise<void> {
  await sh("docker", ["rm", "-f", "-v", RUNTIME], false);
  for (const line of await dockerRemains()) {
    const [kind, name] = line.split(" ");
    if (kind === "network") await sh("docker", ["network", "rm", name!], false);
  }
}

async function removeLan(): Promise<void> {
  await sh("ip", ["link", "del", PARENT], false);
  await sh("ip", ["netns", "del", LAN_NS], false);
}

async function makeLan(): Promise<Lan | null> {
  if (!madeLan) return null;
  // Leftovers of a demo killed with SIGKILL.
  await removeLan();
  const [lan] = await freeLans(1);
  await sh("ip", ["netns", "add", LAN_NS]);
  await sh("ip", ["link", "add", PARENT, "type", "veth", "peer", "name", `${PARENT}p`]);
  await sh("ip", ["link", "set", `${PARENT}p`, "netns", LAN_NS]);
  await sh("ip", ["addr", "add", lan!.cidr(HOST_PARENT), "dev", PARENT]);
  await sh("ip", ["link", "set", PARENT, "up"]);
  const inLan = (args: string[]) => sh("ip", ["netns", "exec", LAN_NS, "ip", ...args]);
  await inLan(["addr", "add", lan!.cidr(HOST_LAN), "dev", `${PARENT}p`]);
  await inLan(["link", "set", `${PARENT}p`, "up"]);
  await inLan(["link", "set", "lo", "up"]);
  say(
    `plant LAN ${lan!.subnet} (picked to overlap no route of this machine): ${PARENT} ` +
      `(${lan!.cidr(HOST_PARENT)}) <-> a LAN host ${lan!.at(HOST_LAN)} in namespace ${LAN_NS}`,
  );
  return lan!;
}

/** A child in its own session: a terminal's Ctrl-C (sent to our process group) does not reach it,
 * so the agent outlives the signal long enough to delete what it made. */
class Child {
  readonly #child: Deno.ChildProcess;
  #exited = false;
  readonly done: Promise<Deno.CommandStatus>;

  constructor(readonly name: string, args: string[], logFile: string) {
    const log = Deno.openSync(logFile, { write: true, create: true, append: true });
    // setsid execs in place (a child of ours is never a group leader), so the pid is deno's.
    this.#child = new Deno.Command("setsid", {
      args: [Deno.execPath(), ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child.stdout.pipeTo(log.writable, { preventClose: true }).catch(() => {});
    this.#child.stderr.pipeTo(
      new WritableStream({ write: (c) => void log.writeSync(c), close: () => log.close() }),
    ).catch(() => {});
    this.done = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    Deno.writeTextFileSync(PIDFILE, `${this.#child.pid} ${logFile}\n`, { append: true });
    say(`${name} started (pid ${this.#child.pid}, log ${logFile})`);
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** False once it exited, also before Deno reaped it (a signal handled in the same turn as the
   * exit would otherwise still see it alive): a zombie or a missing /proc entry is dead. */
  async alive(): Promise<boolean> {
    if (this.#exited) return false;
    const stat = await procFile(this.pid, "stat");
    if (stat === null) return false;
    // "pid (comm) S ...": the state follows the last ")".
    const state = stat[stat.lastIndexOf(")") + 2];
    return state !== "Z" && state !== "X";
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, graceMs);
    await this.done;
    clearTimeout(timer);
  }
}

/** Pings the runtime from the LAN namespace with `ping`, else busybox's, else says why not. */
async function pingFromLan(lan: Lan, ip: string): Promise<void> {
  const tools = [["ping"], ["busybox", "ping"]];
  for (const tool of tools) {
    const which = await sh("sh", ["-c", `command -v ${tool[0]}`], false);
    if (!which.trim()) continue;
    // One echo, 2 s to answer: a MACVLAN neighbour on a veth answers in well under 1 ms.
    const out = await sh("ip", ["netns", "exec", LAN_NS, ...tool, "-c", "1", "-W", "2", ip], false);
    if (!/1 received|1 packets received/.test(out)) {
      throw new Error(`ping from the LAN host ${lan.at(HOST_LAN)} to ${ip}: no answer\n${out}`);
    }
    say(`ping from the LAN host ${lan.at(HOST_LAN)} to ${ip}: answered`);
    return;
  }
  say("ping from the LAN host: skipped (no ping tool; apt-get install iputils-ping)");
}

// ---- the run --------------------------------------------------------------------------------

type Ack = Record<string, unknown>;
type HttpAck = {
  status: string;
  error?: string;
  http_response?: { status_code: number; body: unknown };
};

/** State the cleanup needs. */
const made = {
  work: null as string | null,
  lan: false,
  cloud: null as Awaited<ReturnType<typeof startDevCloud>> | null,
  children: [] as Child[],
  agent: null as Child | null,
  runtime: false,
  internalBridge: null as string | null,
};

async function main(): Promise<void> {
  const t0 = performance.now();
  await step(preflight());
  made.work = await Deno.makeTempDir({ prefix: "eo-demo-" });
  say(`working directory ${made.work}`);

  say("building the stand-in OpenPLC runtime image (cached after the first time) ...");
  await step(sh("bash", ["scripts/build_runtime_image.sh"]));
  made.lan = madeLan;
  const lan = await step(makeLan());

  const cloud = await step(startDevCloud({
    dir: `${made.work}/cloud`,
    bits: 2048,
    port: 0,
    apiPort: Number(values["web-port"]),
    log: () => {},
  }));
  made.cloud = cloud;
  say(`control plane on ${cloud.url} (web page: ${cloud.apiUrl}/)`);
  const mtls = await step(cloud.issueDevice(DEVICE));
  say(`device certificate issued for "${DEVICE}" in ${mtls}`);

  const perms = await loadPermissions();
  const state = `${made.work}/state`;
  await Deno.mkdir(state, { recursive: true });
  const sock = `${state}/netmon.sock`;
  made.children.push(
    new Child(
      "netmon",
      runArgs(perms.netmon, ["--socket", sock, "--debounce", "1000"]),
      `${made.work}/netmon.log`,
    ),
  );
  made.agent = new Child(
    "agent",
    runArgs(perms.agent, [
      "--server-url",
      cloud.url,
      "--mtls-dir",
      mtls,
      "--server-ca",
      cloud.caFile,
      "--state-dir",
      state,
      "--runtime-image",
      "edge-orchestrator/openplc-standin:latest",
    ]),
    `${made.work}/agent.log`,
  );
  made.children.push(made.agent);
  const agentGone = made.agent.done.then((s) => {
    throw new StepError(`the agent exited (code ${s.code}); see ${made.work}/agent.log`);
  });
  agentGone.catch(() => {});
  const send = (topic: string, payload: unknown) =>
    step(Promise.race([cloud.send(DEVICE, topic, payload), agentGone])) as Promise<Ack>;

  await step(Promise.race([cloud.waitForAgent(DEVICE, 60_000), agentGone]));
  say(`agent "${DEVICE}" connected over mTLS; heartbeats arriving`);

  const vnic = {
    name: "eth0",
    parent_interface: PARENT,
    network_mode: lan ? "manual" : "dhcp",
    ...(lan ? { ip_address: lan.at(HOST_PLC), subnet: lan.netmask } : {}),
  };
  made.runtime = true;
  const ack = await send("create_new_runtime", {
    correlation_id: 1,
    container_name: RUNTIME,
    vnic_configs: [vnic],
  });
  if (ack.status === "error") throw new Error(`create_new_runtime refused: ${ack.error}`);
  say(`create_new_runtime acked: ${JSON.stringify(ack)}`);
  const status = await poll("the runtime to run", 120_000, async () => {
    const s = await send("get_device_status", { device_id: RUNTIME });
    if (s.status === "error") throw new StepError(`creation failed: ${s.error}`);
    return s.status === "success" && s.is_running ? s : null;
  });
  const nets = status.networks as Record<string, { ip_address: string; mac_address: string }>;
  for (const [net, ep] of Object.entries(nets)) {
    say(`vPLC "${RUNTIME}" runs on ${net}: IP ${ep.ip_address}, MAC ${ep.mac_address}`);
  }
  say(`internal address ${status.internal_ip}; time to first runtime ${secs(t0)} s`);
  made.internalBridge = await internalBridge();

  const api = async (method: string, path: string, extra: Record<string, unknown> = {}) => {
    const r = await send("run_command", { device_id: RUNTIME, method, api: path, ...extra });
    return r as HttpAck;
  };
  const show = (r: HttpAck) =>
    r.http_response
      ? `${r.http_response.status_code} ${JSON.stringify(r.http_response.body)}`
      : `error: ${r.error}`;

  // Running is not ready: the runtime's API listens a moment after the container starts (the
  // real one after setting up its plugins, up to its 90 s health-check start period).
  const tReady = performance.now();
  const ready = await poll("the runtime's API to answer", 120_000, async () => {
    const s = await send("get_device_status", { device_id: RUNTIME });
    if (s.health_status === "healthy") return "health_status healthy";
    const r = await api("GET", "/api/version");
    return r.http_response?.status_code === 200 ? `GET /api/version -> ${show(r)}` : null;
  });
  say(`runtime API ready ${secs(tReady)} s after running (${ready}); ${secs(t0)} s in all`);

  const creds = { username: "demo", password: "demo-password" };
  const created = await api("POST", "/api/create-user", { data: creds });
  const code = created.http_response?.status_code;
  if (code !== 201 && code !== 409) {
    throw new Error(`run_command POST /api/create-user failed: ${show(created)}`);
  }
  say(`run_command POST /api/create-user -> ${show(created)}`);
  const login = await api("POST", "/api/login", { data: creds });
  const token = (login.http_response?.body as { access_token?: unknown } | undefined)
    ?.access_token;
  if (login.http_response?.status_code !== 200 || typeof token !== "string") {
    throw new Error(`run_command POST /api/login failed: ${show(login)}`);
  }
  say(`run_command POST /api/login -> 200 (token received)`);
  const plc = await api("GET", "/api/status", { headers: { Authorization: `Bearer ${token}` } });
  const plcStatus = (plc.http_response?.body as { status?: unknown } | undefined)?.status;
  if (plc.http_response?.status_code !== 200 || !/^STATUS:/.test(String(plcStatus))) {
    throw new Error(`run_command GET /api/status failed: ${show(plc)}`);
  }
  say(`run_command GET /api/status -> ${show(plc)}`);
  if (lan) await step(pingFromLan(lan, Object.values(nets)[0]?.ip_address ?? ""));
  if (values.once) return;
  say("running; press Ctrl-C to remove everything the demo made");
  waitingForCtrlC = true;
  await interrupted.catch(() => {});
}

/** The host link of the runtime's internal bridge (`br-<network id>`), to check it goes too. */
async function internalBridge(): Promise<string | null> {
  const id = (await sh("docker", ["network", "inspect", "-f", "{{.Id}}", INTERNAL_NET], false))
    .trim();
  return /^[0-9a-f]{12,}$/.test(id) ? `br-${id.slice(0, 12)}` : null;
}

/** Removes everything; returns what remains (empty when clean). */
async function cleanup(): Promise<string[]> {
  const timed = async (what: string, fn: () => Promise<unknown>) => {
    const t = performance.now();
    try {
      await fn();
    } catch (err) {
      say(`${what}: ${err instanceof Error ? err.message : err}`);
    }
    if (Deno.env.get("DEMO_DEBUG")) say(`cleanup: ${what} took ${secs(t)} s`);
  };
  const cloud = made.cloud;
  const agent = made.agent;
  if (made.runtime && !values.keep) {
    if (cloud && agent && await agent.alive()) {
      await timed("deletion through the agent", async () => {
        say(`deleting ${RUNTIME} through the agent ...`);
        const t = performance.now();
        // A delete during a create is refused as busy: ask again until it is taken.
        let accepted = false;
        let refusal = "";
        // The agent stops the container (2-10 s) and removes it and its networks.
        await poll("the deletion", 30_000, async () => {
          if (!(await agent.alive())) throw new StepError("the agent exited");
          if (!accepted) {
            const ack = await cloud.send(DEVICE, "delete_device", { device_id: RUNTIME }) as Ack;
            accepted = ack.status !== "error";
            if (!accepted && refusal !== String(ack.error)) {
              refusal = String(ack.error);
              say(`delete_device refused for now (${refusal}); asking again`);
            }
          }
          const s = await cloud.send(DEVICE, "get_device_status", { device_id: RUNTIME }) as Ack;
          return s.status === "not_found" ? s : null;
        }, true);
        say(`${RUNTIME} deleted in ${secs(t)} s`);
      });
    } else {
      say("the agent is gone: removing the runtime through Docker directly");
    }
  }
  await timed(
    "stopping netmon and the agent",
    () => Promise.all(made.children.map((c) => c.stop())),
  );
  if (!values.keep) {
    // Whatever the agent could not remove (it died, or the deletion timed out).
    const left = await dockerRemains();
    if (left.length > 0) {
      say(`removing through Docker: ${left.join(", ")}`);
      await timed("removal through Docker", dockerRemove);
    }
    if (made.lan) await timed("removing the LAN", removeLan);
  }
  if (cloud) await timed("stopping the control plane", () => cloud.stop());
  if (made.work && !Deno.env.get("DEMO_DEBUG")) {
    await Deno.remove(made.work, { recursive: true }).catch(() => {});
  }

  const remains: string[] = [];
  for (const c of made.children) {
    if (await c.alive()) remains.push(`process ${c.name} ${c.pid}`);
  }
  if (remains.length === 0) await Deno.remove(PIDFILE).catch(() => {});
  if (values.keep) {
    say(`kept ${RUNTIME}, its networks and the LAN (${PARENT}, namespace ${LAN_NS})`);
    return remains;
  }
  return [...remains, ...await dockerRemains(), ...await hostRemains(made.internalBridge)];
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  if (err instanceof Interrupted) {
    // A Ctrl-C while waiting for it is the normal end; earlier it cut the demo short.
    if (!waitingForCtrlC) exitCode = 130;
  } else {
    console.error(`[demo] error: ${err instanceof Error ? err.message : err}`);
    if (made.work && Deno.env.get("DEMO_DEBUG")) console.error(`[demo] logs in ${made.work}`);
    exitCode = 1;
  }
}
const remains = await cleanup();
if (remains.length === 0) {
  say("cleaned up");
} else {
  console.error(`[demo] NOT cleaned up; still there: ${remains.join(", ")}`);
  exitCode = 1;
}
Deno.exit(exitCode);
