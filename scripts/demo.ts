/**
 * `deno task demo`: the main job on an embedded default, on one machine with a Docker engine.
 * Starts the local control plane (in this process), netmon and the agent (as processes, with
 * their permission flags from permissions.json), builds the stand-in runtime image when missing,
 * makes a veth parent whose far end sits in a "plant LAN" namespace (or uses `--parent IFACE`),
 * creates a demo vPLC on a MACVLAN network over it and shows, in plain words, what happened:
 * device id, runtime, its IP and MAC, a `run_command` round trip, a ping from the LAN. Ctrl-C
 * (or `--once`) removes everything it made.
 *
 * Flags: `--parent IFACE` (use a real interface, DHCP), `--once` (exit after the round trip),
 * `--keep` (leave the runtime), `--web-port N` (web page; 8444, 0 = any free port), `--force`
 * (run although another orchestrator's runtimes exist on the engine: its agent would adopt them).
 * `DEMO_DEBUG=1` keeps the working directory (logs) and times each cleanup step.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadPermissions, runArgs } from "./permissions.ts";
import { startDevCloud } from "./devcloud/server.ts";

const { values } = parseArgs({
  options: {
    parent: { type: "string" },
    once: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    force: { type: "boolean", default: false },
    "web-port": { type: "string", default: "8444" },
  },
});

const say = (line: string) => console.log(`\x1b[1m[demo]\x1b[0m ${line}`);
const DEVICE = "demo-device";
const RUNTIME = "demo-plc";
const PARENT = values.parent ?? "eodemo0";
const LAN_NS = "eo-demo-lan";
const cleanups: (() => Promise<void> | void)[] = [];

async function sh(cmd: string, args: string[], check = true): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (check && !out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text.trim()}`);
  return text;
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
}

async function makeLan(): Promise<void> {
  if (values.parent) return;
  await sh("ip", ["link", "del", PARENT], false);
  await sh("ip", ["netns", "del", LAN_NS], false);
  await sh("ip", ["netns", "add", LAN_NS]);
  cleanups.push(() => sh("ip", ["netns", "del", LAN_NS], false).then(() => {}));
  await sh("ip", ["link", "add", PARENT, "type", "veth", "peer", "name", `${PARENT}p`]);
  cleanups.push(() => sh("ip", ["link", "del", PARENT], false).then(() => {}));
  await sh("ip", ["link", "set", `${PARENT}p`, "netns", LAN_NS]);
  await sh("ip", ["addr", "add", "192.0.2.1/24", "dev", PARENT]);
  await sh("ip", ["link", "set", PARENT, "up"]);
  const inLan = (args: string[]) => sh("ip", ["netns", "exec", LAN_NS, "ip", ...args]);
  await inLan(["addr", "add", "192.0.2.254/24", "dev", `${PARENT}p`]);
  await inLan(["link", "set", `${PARENT}p`, "up"]);
  await inLan(["link", "set", "lo", "up"]);
  say(`plant LAN: ${PARENT} (192.0.2.1/24) <-> a LAN host 192.0.2.254 in namespace ${LAN_NS}`);
}

function spawn(name: string, args: string[], logFile: string): Deno.ChildProcess {
  const log = Deno.openSync(logFile, { write: true, create: true, append: true });
  const child = new Deno.Command("deno", { args, stdout: "piped", stderr: "piped" }).spawn();
  child.stdout.pipeTo(log.writable, { preventClose: true }).catch(() => {});
  child.stderr.pipeTo(
    new WritableStream({ write: (c) => void log.writeSync(c), close: () => log.close() }),
  ).catch(() => {});
  cleanups.push(async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  });
  say(`${name} started (pid ${child.pid}, log ${logFile})`);
  return child;
}

async function poll<T>(what: string, ms: number, fn: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

/** Pings the runtime from the LAN namespace with `ping`, else busybox's, else says why not. */
async function pingFromLan(ip: string): Promise<void> {
  const tools = [["ping"], ["busybox", "ping"]];
  for (const tool of tools) {
    const which = await sh("sh", ["-c", `command -v ${tool[0]}`], false);
    if (!which.trim()) continue;
    // One echo, 2 s to answer: a MACVLAN neighbour on a veth answers in well under 1 ms.
    const out = await sh("ip", ["netns", "exec", LAN_NS, ...tool, "-c", "1", "-W", "2", ip], false);
    const ok = /1 received|1 packets received/.test(out);
    say(`ping from the LAN host 192.0.2.254 to ${ip}: ${ok ? "answered" : "no answer"}`);
    return;
  }
  say("ping from the LAN host: skipped (no ping tool; apt-get install iputils-ping)");
}

async function main(): Promise<void> {
  const t0 = performance.now();
  await preflight();
  const work = await Deno.makeTempDir({ prefix: "eo-demo-" });
  cleanups.push(() =>
    Deno.env.get("DEMO_DEBUG") ? undefined : Deno.remove(work, { recursive: true }).catch(() => {})
  );
  say(`working directory ${work}`);

  say("building the stand-in OpenPLC runtime image (cached after the first time) ...");
  await sh("bash", ["scripts/build_runtime_image.sh"]);
  await makeLan();

  const cloud = await startDevCloud({
    dir: `${work}/cloud`,
    bits: 2048,
    port: 0,
    apiPort: Number(values["web-port"]),
    log: () => {},
  });
  cleanups.push(() => cloud.stop());
  say(`control plane on ${cloud.url} (web page: ${cloud.apiUrl}/)`);
  const mtls = await cloud.issueDevice(DEVICE);
  say(`device certificate issued for "${DEVICE}" in ${mtls}`);

  const perms = await loadPermissions();
  const state = `${work}/state`;
  await Deno.mkdir(state, { recursive: true });
  const sock = `${state}/netmon.sock`;
  spawn(
    "netmon",
    runArgs(perms.netmon, ["--socket", sock, "--debounce", "1000"]),
    `${work}/netmon.log`,
  );
  spawn(
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
    `${work}/agent.log`,
  );
  await cloud.waitForAgent(DEVICE, 60_000);
  say(`agent "${DEVICE}" connected over mTLS; heartbeats arriving`);

  const vnic = {
    name: "eth0",
    parent_interface: PARENT,
    network_mode: values.parent ? "dhcp" : "manual",
    ...(values.parent ? {} : { ip_address: "192.0.2.50", subnet: "255.255.255.0" }),
  };
  // Remove a leftover of an interrupted earlier demo first.
  await cloud.send(DEVICE, "delete_device", { device_id: RUNTIME }).catch(() => {});
  await poll("leftover removal", 60_000, async () => {
    const s = await cloud.send(DEVICE, "get_device_status", { device_id: RUNTIME }) as {
      status: string;
    };
    return s.status === "not_found" || s.status === "error" ? s : null;
  });
  const ack = await cloud.send(DEVICE, "create_new_runtime", {
    correlation_id: 1,
    container_name: RUNTIME,
    vnic_configs: [vnic],
  });
  say(`create_new_runtime acked: ${JSON.stringify(ack)}`);
  cleanups.push(async () => {
    if (values.keep) return;
    say(`deleting ${RUNTIME} ...`);
    const t = performance.now();
    await cloud.send(DEVICE, "delete_device", { device_id: RUNTIME }).catch(() => {});
    await poll("deletion", 60_000, async () => {
      const s = await cloud.send(DEVICE, "get_device_status", { device_id: RUNTIME }) as {
        status: string;
      };
      return s.status === "not_found" ? s : null;
    }).then(
      () => say(`${RUNTIME} deleted in ${((performance.now() - t) / 1000).toFixed(1)} s`),
      (e) => say(String(e)),
    );
  });
  const status = await poll("the runtime to run", 120_000, async () => {
    const s = await cloud.send(DEVICE, "get_device_status", { device_id: RUNTIME }) as Record<
      string,
      unknown
    >;
    if (s.status === "error") throw new Error(`creation failed: ${s.error}`);
    return s.status === "success" && s.is_running ? s : null;
  });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const nets = status.networks as Record<string, { ip_address: string; mac_address: string }>;
  for (const [net, ep] of Object.entries(nets)) {
    say(`vPLC "${RUNTIME}" runs on ${net}: IP ${ep.ip_address}, MAC ${ep.mac_address}`);
  }
  say(`internal address ${status.internal_ip}; time to first runtime ${seconds} s`);

  const api = (method: string, path: string, extra: Record<string, unknown> = {}) =>
    cloud.send(DEVICE, "run_command", {
      device_id: RUNTIME,
      method,
      api: path,
      ...extra,
    }) as Promise<
      { http_response: { status_code: number; body: Record<string, string> } }
    >;
  const creds = { username: "demo", password: "demo-password" };
  await api("POST", "/api/create-user", { data: creds });
  const login = await api("POST", "/api/login", { data: creds });
  const token = login.http_response.body.access_token;
  const headers = { Authorization: `Bearer ${token}` };
  const plc = await api("GET", "/api/status", { headers });
  say(
    `run_command GET /api/status -> ${plc.http_response.status_code} ${
      JSON.stringify(plc.http_response.body)
    }`,
  );
  if (!values.parent) await pingFromLan(Object.values(nets)[0]?.ip_address ?? "");
  if (values.once) return;
  say("running; press Ctrl-C to remove everything the demo made");
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
    Deno.addSignalListener("SIGTERM", () => resolve());
  });
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`[demo] ${err instanceof Error ? err.message : err}`);
  code = 1;
} finally {
  for (const c of cleanups.splice(0).reverse()) {
    const t = performance.now();
    await c();
    if (Deno.env.get("DEMO_DEBUG")) {
      say(`cleanup step took ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  say("cleaned up");
}
Deno.exit(code);
