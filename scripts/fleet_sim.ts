/**
 * Fleet simulation (issue 8): N simulated agents (1,000 by default), each a real mTLS Socket.IO
 * session built by the agent's own `socketIoSession` with the agent's own reconnection policy
 * (`Backoff`, seeded), against the dev control plane. Once every agent is connected the control
 * plane is stopped, kept down `--down` seconds, and started again on the same port and directory.
 * Measured: the connect rate per second after the restart, the time until every agent is back,
 * and peak/mean, where mean = agents back / seconds from the restart to the last reconnection
 * (whole per-second bins) and peak = the fullest one-second bin.
 *
 * Every agent has its own certificate (the control plane keys agents by CN and kicks a duplicate):
 * one shared 2048-bit key, N short certificates signed by the dev CA with `openssl req -x509 -CA`,
 * several openssl processes at a time. Prints a histogram, then one JSON line (for bench.ts).
 *
 *   deno run --allow-read --allow-write --allow-net --allow-env --allow-run=openssl --allow-sys \
 *     scripts/fleet_sim.ts [--agents 1000] [--down 5] [--seed 1]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { silentLogger } from "../agent/log.ts";
import { Backoff } from "../agent/session/backoff.ts";
import { seededRandom as seeded } from "../agent/session/seeded_random.ts";
import { loadIdentity } from "../agent/session/identity.ts";
import { socketIoSession } from "../agent/session/socketio.ts";
import type { Session } from "../agent/session/types.ts";
import { type Ca, createCa, openssl } from "./devcloud/pki.ts";
import { loadPermissions, runArgs } from "./permissions.ts";

/** Parallel openssl processes: a few per core keeps both cores busy while others fork. */
const OPENSSL_PARALLEL = 8;
/** Agents started per 100 ms at the beginning: the first connect is not what we measure. */
const START_BATCH = 100;
/** Bound for the initial connection of the whole fleet, ms. */
const INITIAL_MS = 120_000;
/** What issue 8 asks: everyone back within 60 s, peak/mean under 3 in the first minute. */
const ALL_BACK_LIMIT_S = 60;
const RATIO_LIMIT = 3;

const EXT = `[req]
distinguished_name = dn
prompt = no
x509_extensions = client_ext
[dn]
CN = unused
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;

/**
 * The dev control plane as its own process (`scripts/devcloud/main.ts` with its permissions.json
 * flags), as the real cloud is its own machine. In the simulator's process it shared one event
 * loop with the 1,000 clients' TLS handshakes: the reconnection then measured that loop's queue
 * (first second 32 back, third 321) more than the backoff, and peak/mean swung from 1.7 to 3.1.
 */
class CloudProcess {
  readonly #child: Deno.ChildProcess;
  readonly apiUrl: string;
  readonly url: string;
  readonly #dir: string;

  private constructor(child: Deno.ChildProcess, port: number, apiPort: number, dir: string) {
    this.#child = child;
    this.#dir = dir;
    this.url = `https://localhost:${port}`;
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
  }

  /** Starts it on `port` (0: a free one) with its PKI in `dir`; resolves once its API answers. */
  static async start(dir: string, port: number): Promise<CloudProcess> {
    const free = () => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = l.addr.port;
      l.close();
      return p;
    };
    const p = port || free();
    const apiPort = free();
    const perms = (await loadPermissions()).devcloud;
    const child = new Deno.Command(Deno.execPath(), {
      args: runArgs(perms, [
        "--port",
        String(p),
        "--api-port",
        String(apiPort),
        "--dir",
        dir,
        "--bits",
        "2048",
        "--quiet",
      ]),
      cwd: new URL("..", import.meta.url).pathname,
      stdin: "piped", // main.ts reads commands there; kept open for the process's life
      stdout: "null", // one line per connect: 2,000 lines nobody reads
      stderr: "inherit",
    }).spawn();
    const cloud = new CloudProcess(child, p, apiPort, dir);
    await waitUntilAsync(
      async () => (await cloud.agents().catch(() => null)) !== null,
      60_000,
      "the control plane's API",
    );
    return cloud;
  }

  /** CNs of the connected agents. */
  async agents(): Promise<string[]> {
    // The API wants the control plane's per-start token (scripts/devcloud/api.ts).
    const token = (await Deno.readTextFile(`${this.#dir}/api-token`)).trim();
    const res = await fetch(`${this.apiUrl}/api/agents`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`GET /api/agents: ${res.status}`);
    return (await res.json()).agents;
  }

  /** SIGTERM (the control plane closes its sockets and exits), and waits for the exit. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#child.stdin.close().catch(() => {});
  }
}

/** Issues `n` device certificates sharing one key; returns their directories. */
async function issueFleet(
  ca: Ca,
  dir: string,
  n: number,
): Promise<string[]> {
  const key = `${dir}/shared.key`;
  await openssl(["genrsa", "-out", key, "2048"]);
  await Deno.writeTextFile(`${dir}/fleet.cnf`, EXT);
  const dirs = Array.from({ length: n }, (_, i) => `${dir}/d${i}`);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await Deno.mkdir(dirs[i]!, { recursive: true });
      await Deno.copyFile(key, `${dirs[i]}/client.key`);
      await openssl([
        "req",
        "-new",
        "-x509",
        "-config",
        `${dir}/fleet.cnf`,
        "-key",
        key,
        "-CA",
        ca.certFile,
        "-CAkey",
        ca.keyFile,
        "-subj",
        `/O=edge-orchestrator/OU=Fleet/CN=fleet-${String(i).padStart(4, "0")}`,
        "-days",
        "2", // a simulation certificate needs to outlive one run only
        "-out",
        `${dirs[i]}/client.crt`,
      ]);
    }
  };
  await Promise.all(Array.from({ length: OPENSSL_PARALLEL }, worker));
  return dirs;
}

async function waitUntilAsync(
  pred: () => Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!await pred()) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the simulation; returns the figures. */
export async function runFleet(
  opts: { agents: number; downS: number; seed: number; print?: (line: string) => void },
): Promise<Record<string, unknown>> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const dir = await Deno.makeTempDir({ prefix: "eo-fleet-" });
  const cloudDir = `${dir}/cloud`;
  let cloud = await CloudProcess.start(cloudDir, 0);
  const sessions: Session[] = [];
  try {
    let t0 = performance.now();
    // The control plane made its CA at start; createCa finds and returns it (same layout).
    const cloudCa = await createCa(`${cloudDir}/ca`, { bits: 2048 });
    const dirs = await issueFleet(cloudCa, dir, opts.agents);
    const certsS = (performance.now() - t0) / 1000;
    print(`fleet: ${opts.agents} certificates in ${certsS.toFixed(1)} s`);
    const ca = await Deno.readTextFile(cloudCa.certFile);
    /** Connect times (performance.now) of each agent after the restart. */
    const back: number[] = [];
    let measuring = false;
    let up = 0;
    t0 = performance.now();
    for (let i = 0; i < dirs.length; i++) {
      const identity = await loadIdentity(dirs[i]!);
      const s = socketIoSession({
        url: cloud.url,
        identity,
        serverCa: ca,
        log: silentLogger,
        backoff: new Backoff(() => Date.now(), seeded(opts.seed * 100_003 + i)),
      });
      s.onState((isUp) => {
        if (!isUp) return;
        up++;
        if (measuring) back.push(performance.now());
      });
      sessions.push(s);
      s.start();
      if (i % START_BATCH === START_BATCH - 1) await new Promise((r) => setTimeout(r, 100));
    }
    const allIn = async () => (await cloud.agents()).length === opts.agents;
    await waitUntilAsync(allIn, INITIAL_MS, "initial connect");
    const initialS = (performance.now() - t0) / 1000;
    print(`fleet: all ${opts.agents} connected in ${initialS.toFixed(1)} s`);

    const port = Number(new URL(cloud.url).port);
    measuring = true;
    up = 0;
    await cloud.stop();
    const stoppedAt = performance.now();
    await new Promise((r) => setTimeout(r, opts.downS * 1000));
    cloud = await CloudProcess.start(cloudDir, port);
    const restartedAt = performance.now();
    print(`fleet: control plane down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s`);
    await waitUntilAsync(allIn, (ALL_BACK_LIMIT_S + 30) * 1000, "reconnection")
      .catch((err) => print(`fleet: ${err.message}`));
    const backCount = (await cloud.agents()).length;
    const lastS = back.length ? (Math.max(...back) - restartedAt) / 1000 : Infinity;
    const bins = new Array(Math.max(1, Math.ceil(lastS))).fill(0);
    for (const t of back) bins[Math.max(0, Math.floor((t - restartedAt) / 1000))]++;
    const firstMinute = bins.slice(0, 60);
    const peak = Math.max(...firstMinute);
    const mean = firstMinute.reduce((a, b) => a + b, 0) / firstMinute.length;
    const width = 50 / Math.max(1, peak);
    print("fleet: reconnections per second after the restart");
    bins.forEach((c, i) =>
      print(`  ${String(i).padStart(3)}s ${"#".repeat(Math.round(c * width)).padEnd(50)} ${c}`)
    );
    const result = {
      agents: opts.agents,
      seed: opts.seed,
      down_s: Math.round((restartedAt - stoppedAt) / 100) / 10,
      certs_s: Math.round(certsS * 10) / 10,
      initial_connect_s: Math.round(initialS * 10) / 10,
      back: backCount,
      all_back_s: Math.round(lastS * 10) / 10,
      peak_per_s: peak,
      mean_per_s: Math.round(mean * 10) / 10,
      peak_mean_ratio: Math.round((peak / mean) * 100) / 100,
      histogram: bins,
      client_side_connects: up,
      ok: backCount === opts.agents && lastS <= ALL_BACK_LIMIT_S &&
        peak / mean < RATIO_LIMIT,
    };
    return result;
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    await cloud.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      agents: { type: "string", default: "1000" },
      down: { type: "string", default: "5" },
      seed: { type: "string", default: "1" },
    },
  });
  const result = await runFleet({
    agents: Number(values.agents),
    downS: Number(values.down),
    seed: Number(values.seed),
    print: (l) => console.error(l),
  });
  console.log(JSON.stringify(result));
  Deno.exit(result.ok ? 0 : 1);
}
