/**
 * Soak benchmark (issue 14, `deno task bench`, row group `soak`): a compressed day on one agent
 * with 20 runtimes. Over the load phase the local control plane sends commands of every topic
 * (a quarter of them bad input that must be refused), goes away and comes back (outages of
 * random length), the host address of the runtimes' MACVLAN parent moves between two free
 * ranges (netmon runs and reports it), and dockerd is stopped and started again. The agent runs
 * as a real process with its permission flags from permissions.json; its RSS, open descriptors,
 * threads and child processes are sampled every 10 s from /proc (a line per minute is printed),
 * and the least-squares slope after warm-up is the verdict: aim ≤ 2 MiB of fitted growth.
 *
 * Timers are not observable from outside: the agent has no debug signal and logs no timer count,
 * and Deno offers no way to list another process's timers. Threads, descriptors and children are
 * what a leaked interval or socket would show up in.
 *
 * The full day (10,000 commands, 500 outages, 50 moves, 5 dockerd restarts) is `--minutes 24`
 * (≤ 30 min with set-up and clean-up); `deno task bench` runs `--minutes 3` by default with the
 * counts scaled down (`scripts/bench.ts --soak-minutes N`, 0 skips it). The reconnection ladder
 * is made fast with the agent's test-only ORCHESTRATOR_TEST_RETRY_MS, as in the failed-connection
 * rows: the day is compressed, so are its waits.
 *
 * Needs root (a veth parent, dockerd restarts) and a Docker engine with the stand-in image
 * (built on demand). Host ranges come from the free-range picker. Everything it makes is
 * removed at the end, also on Ctrl-C.
 *
 * Usage: deno run -A scripts/bench_soak.ts [--minutes 3] [--seed N] [--runtimes 20]
 *   [--actors commands,outages,moves,dockerd]   (a subset: which part a growth comes from)
 *   [--agent-v8-flags --max-old-space-size=80]  (added to the agent's V8 flags, for diagnosis)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { seededRandom } from "../agent/session/seeded_random.ts";
import { type DevCloud, startDevCloud } from "./devcloud/server.ts";
import { shippedAgent } from "./bench_agent.ts";
import {
  ensureStandin,
  freeNets,
  makeParent,
  type Parent,
  removeStaleParents,
  sh,
  STANDIN,
} from "../tests/docker_helpers.ts";
import { HostNetmon, removeByPrefix } from "../tests/stack_helpers.ts";
import {
  eventTimes,
  type MixContext,
  pickCommand,
  type ProcSample,
  quantile,
  scaleCounts,
  summarize,
  warmupMinutes,
} from "./soak_plan.ts";
import {
  childProcesses,
  endLeftovers,
  ensureDockerd,
  restartDockerd,
  runningContainers,
  sampleProcess,
} from "./soak_host.ts";

/** Samples every 10 s: six points a minute make the fit of a 2-minute window meaningful. */
const SAMPLE_MS = 10_000;
/** The 2 MiB aim of issue 14: fitted RSS growth after warm-up. */
const AIM_MIB = 2;
/** Commands in flight at once: the cloud UI polls a few at a time; 6 keeps the rate on 2 cores. */
const WORKERS = 6;
/** Ack timeout: a lifecycle command during a dockerd restart waits for the agent's own Docker
 * timeouts, which stay well under this. */
const ACK_TIMEOUT_MS = 45_000;
/** Outage length, ms: 0.2-2 s of the compressed day (about 10 s to 2 min of a real one). */
const OUTAGE_MIN_MS = 200;
const OUTAGE_SPREAD_MS = 1_800;
/** The agent's retry delay in the soak (test-only env): reconnections in well under a second. */
const FAST_RETRY_MS = 200;
/** netmon's debounce, ms: the tiers' value. */
const DEBOUNCE_MS = 300;
/** The load phase may overrun by this share when outages and restarts slow the commands: 15 %
 * keeps the full run (24 min of load) under 30 minutes with set-up and clean-up. */
const OVERRUN = 0.15;

const T0 = performance.now();
const log = (line: string) =>
  console.error(`[soak ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The control plane, stopped and started again on the same port (the outages). */
export class CloudSwitch {
  cloud: DevCloud | null = null;
  port = 0;
  #down = Promise.withResolvers<void>();
  constructor(readonly dir: string, readonly device: string) {}

  async start(): Promise<void> {
    this.#down = Promise.withResolvers<void>();
    for (let attempt = 1;; attempt++) {
      try {
        this.cloud = await startDevCloud({
          dir: this.dir,
          port: this.port,
          bits: 2048,
          apiPort: null,
          log: () => {},
        });
        break;
      } catch (err) {
        // The port of the last instance may take a moment to be free again.
        if (attempt >= 40) throw err;
        await sleep(250);
      }
    }
    this.port = this.cloud.port;
  }

  async stop(): Promise<void> {
    const c = this.cloud;
    this.cloud = null;
    this.#down.resolve();
    await c?.stop();
  }

  connected(): boolean {
    return this.cloud?.agents().includes(this.device) ?? false;
  }

  /** Polls until the agent is connected; false after `ms` or when `cancel()` says so. */
  async waitConnected(ms: number, cancel: () => boolean = () => false): Promise<boolean> {
    const end = performance.now() + ms;
    while (!this.connected()) {
      if (performance.now() > end || cancel()) return false;
      await sleep(25);
    }
    return true;
  }

  /** Sends; an ack, or why none came (`lost`: the cloud went away; `timeout`: no ack in time). */
  async send(
    topic: string,
    payload: unknown,
    ms = ACK_TIMEOUT_MS,
  ): Promise<{ ack: Record<string, unknown> } | { lost: string } | { timeout: string }> {
    const c = this.cloud;
    if (!c) return { lost: "cloud down" };
    const down = this.#down.promise;
    let gone = false;
    void down.then(() => gone = true);
    try {
      return await Promise.race([
        c.send(this.device, topic, payload, ms).then((a) => ({
          ack: a as Record<string, unknown>,
        })),
        down.then(() => ({ lost: "outage" })),
      ]);
    } catch (err) {
      const m = (err as Error).message;
      return gone || /not connected/.test(m) ? { lost: m } : { timeout: m };
    }
  }
}

/** The agent process with counters over its output (nothing kept but a short tail). */
export class AgentProcess {
  readonly child: Deno.ChildProcess;
  exitCode: number | null = null;
  lines = 0;
  errorLines = 0;
  /** Error lines by their first words (ids and numbers masked), for the summary. */
  errorKinds = new Map<string, number>();
  rewired = 0;
  tail: string[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      env: { ...env, ORCHESTRATOR_TEST_RETRY_MS: String(FAST_RETRY_MS), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    void this.child.status.then((s) => this.exitCode = s.code);
    void this.#pump(this.child.stdout);
    void this.#pump(this.child.stderr);
  }

  async #pump(s: ReadableStream<Uint8Array>) {
    let rest = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const l of lines) {
        this.lines++;
        if (/\b(ERROR|CRITICAL)\b/.test(l)) {
          this.errorLines++;
          const key = l.replace(/^\S+\s+/, "").replace(/eosk[0-9a-f]{4}-\d+/g, "<rt>")
            .replace(/\d+/g, "N").slice(0, 90);
          this.errorKinds.set(key, (this.errorKinds.get(key) ?? 0) + 1);
        }
        if (/parent re-wired/i.test(l)) this.rewired++;
        this.tail.push(l.slice(0, 400));
        if (this.tail.length > 60) this.tail.shift();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.exitCode !== null) return;
    try {
      this.child.kill("SIGTERM");
    } catch { /* gone */ }
    const killer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 30_000);
    await this.child.status;
    clearTimeout(killer);
  }
}

/** The load's parts; `--actors` runs a subset to find which one a growth comes from. */
export const ACTORS = ["commands", "outages", "moves", "dockerd"] as const;
/** One of {@linkcode ACTORS}. */
export type Actor = typeof ACTORS[number];

/** Runs the soak; returns the figures (the `soak.*` rows). */
export async function benchSoak(
  minutes: number,
  seed: number,
  runtimeCount = 20,
  actors: ReadonlySet<Actor> = new Set(ACTORS),
  extraV8Flags = "",
): Promise<Record<string, unknown>> {
  if (runtimeCount < 6) throw new RangeError("--runtimes: at least 6 (4 lifecycle, 1 churn, 1+)");
  const counts = scaleCounts(minutes);
  const warmMin = warmupMinutes(minutes);
  const loadMs = minutes * 60_000;
  log(
    `${minutes} min of load (warm-up ${warmMin}), seed ${seed}, ${runtimeCount} runtimes: ` +
      `${counts.commands} commands, ${counts.outages} outages, ${counts.moves} subnet moves, ` +
      `${counts.dockerdRestarts} dockerd restarts`,
  );
  await ensureStandin();
  const hex = crypto.randomUUID().slice(0, 4);
  const device = `soak-${hex}`;
  // A new parent name every run: Docker's stale macvlan record of a killed run cannot claim it
  // (see tests/fault_restart_test.ts).
  const PARENT = `eosk${hex}`;
  const PREFIX = `eosk${hex}-`;
  const [na, nb] = await freeNets(2);
  const ranges = [
    { addr: `${na}.250/24`, net: `${na}.0/24` },
    { addr: `${nb}.250/24`, net: `${nb}.0/24` },
  ];
  const dir = await Deno.makeTempDir({ prefix: "eo-soak-" });
  const names = Array.from(
    { length: runtimeCount },
    (_, i) => `${PREFIX}${String(i).padStart(2, "0")}`,
  );
  const ctx: MixContext = {
    lifecycle: names.slice(0, 4),
    steady: names.slice(4, -1),
    churn: names.at(-1)!,
    churnPresent: true,
    parent: PARENT,
  };
  const vnic = { name: "eth0", parent_interface: PARENT, network_mode: "dhcp" };

  let stopping = false;
  const onInt = () => {
    log("interrupted: cleaning up");
    stopping = true;
  };
  Deno.addSignalListener("SIGINT", onInt);
  const cloud = new CloudSwitch(`${dir}/cloud`, device);
  let parent: Parent | null = null;
  let netmon: HostNetmon | null = null;
  let agent: AgentProcess | null = null;
  try {
    await removeStaleParents(/^eosk[0-9a-f]{4}$/);
    parent = await makeParent(PARENT, ranges[0]!.addr, ranges[0]!.net);
    await cloud.start();
    const mtls = await cloud.cloud!.issueDevice(device);
    await Deno.mkdir(`${dir}/state`, { recursive: true });
    await Deno.mkdir(`${dir}/netmon`, { recursive: true });
    netmon = new HostNetmon(`${dir}/netmon/netmon.sock`, DEBOUNCE_MS);
    // Diagnosis only (`--agent-v8-flags`): e.g. a small old-space limit tells a leak (the agent
    // dies out of memory) from a heap V8 lets grow before collecting (RSS stays under it).
    // The agent as its image runs it (bundle, flags, environment: shippedAgent).
    const shipped = await shippedAgent([
      "--server-url",
      `https://localhost:${cloud.port}`,
      "--mtls-dir",
      mtls,
      "--server-ca",
      cloud.cloud!.caFile,
      "--state-dir",
      `${dir}/state`,
      "--netmon-socket",
      `${dir}/netmon/netmon.sock`,
      "--runtime-image",
      STANDIN,
      "--log-level",
      "INFO",
    ]);
    agent = new AgentProcess(
      shipped.args.map((f) =>
        extraV8Flags && f.startsWith("--v8-flags=") ? `${f},${extraV8Flags}` : f
      ),
      shipped.env,
    );
    const a = agent;
    if (!await cloud.waitConnected(60_000)) throw new Error("the agent did not connect");

    // Set-up: the runtimes, one vNIC each on the parent (DHCP: the LAN has no server, as a
    // fresh plant network might not; the agent keeps asking, which the soak wants to see).
    const tSetup = performance.now();
    for (const name of names) {
      for (let i = 0;; i++) {
        const r = await cloud.send("create_new_runtime", {
          container_name: name,
          vnic_configs: [vnic],
        });
        if ("ack" in r && r.ack.status === "creating") break;
        if (i > 60) throw new Error(`create ${name}: ${JSON.stringify(r)}`);
        await sleep(1_000); // busy (operation cap) or a reconnect: ask again
      }
    }
    for (const name of names) {
      for (let i = 0;; i++) {
        const r = await cloud.send("get_device_status", { device_id: name });
        if ("ack" in r && r.ack.is_running === true) break;
        if (i > 600 || stopping) throw new Error(`${name} did not come up: ${JSON.stringify(r)}`);
        await sleep(500);
      }
    }
    log(
      `set-up: ${runtimeCount} runtimes running in ${
        Math.round((performance.now() - tSetup) / 1000)
      } s`,
    );

    // Load phase: five actors against one clock.
    const t0 = performance.now();
    const since = () => performance.now() - t0;
    const sleepUntil = async (atMs: number) => {
      while (!stopping && since() < atMs) await sleep(Math.max(1, Math.min(500, atMs - since())));
    };
    let loadDone = false;
    const halt = () => stopping || loadDone || a.exitCode !== null;
    const samples: ProcSample[] = [];
    const tally = {
      sent: 0,
      acked: 0,
      lost: 0,
      timeouts: 0,
      malformed: 0,
      hostileSent: 0,
      hostileAccepted: [] as string[],
      ackMs: [] as number[],
      kinds: new Map<string, number>(),
    };
    const ev = {
      outages: 0,
      reconnectMs: [] as number[],
      reconnectFailed: 0,
      moves: 0,
      rewireMs: [] as number[],
      rewireUnseen: 0,
      restarts: 0,
      dockerdBackMs: [] as number[],
      runtimesBackMs: [] as number[],
    };

    const sampler = async () => {
      let minute = 0;
      for (let k = 0; !stopping && a.exitCode === null; k++) {
        await sleepUntil(k * SAMPLE_MS);
        if (stopping || a.exitCode !== null) break;
        const s = await sampleProcess(a.child.pid, Math.round(since())).catch(() => null);
        if (s) samples.push(s);
        if (s && (s.atMs >= (minute + 1) * 60_000 || k === 0)) {
          if (k > 0) minute = Math.floor(s.atMs / 60_000);
          log(
            `min ${String(minute).padStart(2)}  rss ${(s.rssKb / 1024).toFixed(1)} MiB  ` +
              `fds ${s.fds}  threads ${s.threads}  children ${s.children} | commands ` +
              `${tally.sent} (acked ${tally.acked}, lost ${tally.lost}, timeout ${tally.timeouts})` +
              `  outages ${ev.outages}  moves ${ev.moves}  dockerd ${ev.restarts}` +
              (minute < warmMin ? "  (warm-up)" : ""),
          );
        }
        if (loadDone) break;
      }
    };

    const cmdRng = seededRandom(seed);
    let nextCmd = 0;
    const interval = loadMs / counts.commands;
    const worker = async () => {
      while (!halt()) {
        const i = nextCmd++;
        if (i >= counts.commands) return;
        await sleepUntil(i * interval);
        if (since() > loadMs * (1 + OVERRUN)) return;
        if (!await cloud.waitConnected(60_000, halt)) continue;
        const c = pickCommand(cmdRng, ctx);
        tally.sent++;
        tally.kinds.set(c.kind, (tally.kinds.get(c.kind) ?? 0) + 1);
        if (c.hostile) tally.hostileSent++;
        const tSend = performance.now();
        const r = await cloud.send(c.topic, c.payload);
        if ("lost" in r) {
          tally.lost++;
          continue;
        }
        if ("timeout" in r) {
          tally.timeouts++;
          log(`no ack for ${c.topic} (${c.kind}) within ${ACK_TIMEOUT_MS} ms`);
          continue;
        }
        tally.acked++;
        tally.ackMs.push(performance.now() - tSend);
        const ack = r.ack;
        if (ack?.action !== c.topic) {
          // Another command's ack (seen: a late ack from before an outage answering a command
          // of the next session): counted here, not judged as this command's answer.
          tally.malformed++;
          log(`ack of another command: ${c.topic} -> ${JSON.stringify(ack).slice(0, 300)}`);
          continue;
        }
        if (c.hostile && ack.status !== "error" && ack.status !== "not_found") {
          tally.hostileAccepted.push(`${c.kind}: ${JSON.stringify(ack).slice(0, 200)}`);
        }
        const err = String(ack.error ?? "");
        if (
          c.kind === "churn_delete" && (ack.status === "deleting" || ack.status === "not_found")
        ) {
          ctx.churnPresent = false;
        }
        if (c.kind === "churn_create" && (ack.status === "creating" || /exists/i.test(err))) {
          ctx.churnPresent = true;
        }
      }
    };

    const outages = async () => {
      const rng = seededRandom(seed + 1);
      for (const at of eventTimes(counts.outages, loadMs, rng)) {
        await sleepUntil(at);
        if (halt()) break;
        // Each outage cuts a live link: wait for the agent to be back from the last one.
        if (!await cloud.waitConnected(30_000, halt)) continue;
        await cloud.stop();
        ev.outages++;
        await sleep(OUTAGE_MIN_MS + rng() * OUTAGE_SPREAD_MS);
        await cloud.start();
        const tUp = performance.now();
        if (await cloud.waitConnected(60_000, () => stopping || a.exitCode !== null)) {
          ev.reconnectMs.push(performance.now() - tUp);
        } else ev.reconnectFailed++;
      }
    };

    let current = 0;
    const moves = async () => {
      const rng = seededRandom(seed + 2);
      for (const at of eventTimes(counts.moves, loadMs, rng)) {
        await sleepUntil(at);
        if (halt()) break;
        const from = ranges[current]!;
        const to = ranges[1 - current]!;
        const before = a.rewired;
        const tMove = performance.now();
        await sh("ip", "addr", "del", from.addr, "dev", PARENT);
        await sh("ip", "addr", "add", to.addr, "dev", PARENT);
        current = 1 - current;
        ev.moves++;
        // Seen when the agent logs its re-wire step (it waits for Docker during a restart).
        while (a.rewired === before && performance.now() - tMove < 60_000 && !halt()) {
          await sleep(50);
        }
        if (a.rewired > before) ev.rewireMs.push(performance.now() - tMove - DEBOUNCE_MS);
        else ev.rewireUnseen++;
      }
    };

    const restarts = async () => {
      const rng = seededRandom(seed + 3);
      for (const at of eventTimes(counts.dockerdRestarts, loadMs, rng)) {
        await sleepUntil(at);
        if (halt()) break;
        const tStop = performance.now();
        ev.dockerdBackMs.push(await restartDockerd(log));
        ev.restarts++;
        // The steady runtimes (never stopped by the mix) back running: dockerd's restart policy
        // and the agent's reconciliation.
        while (performance.now() - tStop < 180_000 && !halt()) {
          const up = new Set(await runningContainers(PREFIX));
          if (ctx.steady.every((n) => up.has(n))) {
            ev.runtimesBackMs.push(performance.now() - tStop);
            break;
          }
          await sleep(250);
        }
      }
    };

    const sampling = sampler();
    await Promise.all([
      ...(actors.has("commands") ? Array.from({ length: WORKERS }, () => worker()) : []),
      ...(actors.has("outages") ? [outages()] : []),
      ...(actors.has("moves") ? [moves()] : []),
      ...(actors.has("dockerd") ? [restarts()] : []),
    ]);
    // The sampler keeps going until the load's end (commands may finish early).
    await sleepUntil(Math.max(since(), loadMs));
    loadDone = true;
    await sampling;
    const last = await sampleProcess(a.child.pid, Math.round(since())).catch(() => null);
    if (last) samples.push(last);
    if (!cloud.cloud) await cloud.start();
    await cloud.waitConnected(60_000, () => a.exitCode !== null);
    if (a.exitCode !== null) {
      log(`the agent exited with ${a.exitCode}; its last lines:\n${a.tail.join("\n")}`);
    }
    log(
      `RSS every ${SAMPLE_MS / 1000} s (MiB): ` +
        samples.map((x) => (x.rssKb / 1024).toFixed(1)).join(" "),
    );
    log(`fds every ${SAMPLE_MS / 1000} s: ${samples.map((x) => x.fds).join(" ")}`);
    log(
      `commands by kind: ${
        [...tally.kinds].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`).join(", ")
      }`,
    );
    const topErrors = [...a.errorKinds].sort((x, y) => y[1] - x[1]).slice(0, 8);
    if (topErrors.length) {
      log(`agent error lines by kind:\n  ${topErrors.map(([k, n]) => `${n} x ${k}`).join("\n  ")}`);
    }
    const running = new Set(await runningContainers(PREFIX));
    const summary = summarize(samples, warmMin * 60_000);
    const pass = a.exitCode === null && summary.rss_growth_after_warmup_mib <= AIM_MIB;
    if (tally.hostileAccepted.length) {
      log(`bad input not refused:\n  ${tally.hostileAccepted.slice(0, 10).join("\n  ")}`);
    }
    const p = (v: number[], q: number) => Math.round(quantile(v, q));
    return {
      minutes,
      actors: [...actors].join(","),
      ...(extraV8Flags ? { agent_v8_flags: extraV8Flags } : {}),
      warmup_minutes: warmMin,
      seed,
      runtimes: runtimeCount,
      commands_planned: counts.commands,
      commands_sent: tally.sent,
      commands_acked: tally.acked,
      commands_lost_in_outage: tally.lost,
      commands_timed_out: tally.timeouts,
      acks_of_another_command: tally.malformed,
      hostile_sent: tally.hostileSent,
      hostile_accepted: tally.hostileAccepted.length,
      ack_p50_ms: p(tally.ackMs, 0.5),
      ack_p99_ms: p(tally.ackMs, 0.99),
      outages: ev.outages,
      reconnect_p50_ms: p(ev.reconnectMs, 0.5),
      reconnect_max_ms: p(ev.reconnectMs, 1),
      reconnect_failed: ev.reconnectFailed,
      subnet_moves: ev.moves,
      rewire_p50_ms_minus_debounce: p(ev.rewireMs, 0.5),
      rewire_max_ms_minus_debounce: p(ev.rewireMs, 1),
      rewire_unseen: ev.rewireUnseen,
      dockerd_restarts: ev.restarts,
      dockerd_back_max_ms: p(ev.dockerdBackMs, 1),
      runtimes_back_max_ms: p(ev.runtimesBackMs, 1),
      runtimes_running_at_end: names.filter((n) => running.has(n)).length,
      agent_exit_code: a.exitCode ?? "running",
      agent_error_lines: a.errorLines,
      ...summary,
      timers: "not observable from outside (no debug signal or timer count in the agent)",
      aim_growth_mib: AIM_MIB,
      pass,
    };
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    stopping = true;
    await cleanUp();
  }

  async function cleanUp() {
    log("clean-up ...");
    await ensureDockerd(log).catch((e) => log(`dockerd: ${(e as Error).message}`));
    if (agent && agent.exitCode === null) {
      if (!cloud.cloud) await cloud.start().catch(() => {});
      if (await cloud.waitConnected(30_000)) {
        const tDel = performance.now();
        const left = new Set(names);
        // A delete refused (an operation of the mix still running) is asked again.
        while (left.size && performance.now() - tDel < 120_000) {
          for (const n of [...left]) {
            const r = await cloud.send("get_device_status", { device_id: n }, 10_000);
            if (!("ack" in r)) continue;
            if (r.ack.status === "not_found") left.delete(n);
            else if (r.ack.status !== "deleting") {
              await cloud.send("delete_device", { device_id: n }, 30_000);
            }
          }
          if (left.size) await sleep(500);
        }
        log(
          `deleted ${names.length - left.size} runtimes in ` +
            `${Math.round((performance.now() - tDel) / 1000)} s` +
            (left.size ? `; not deleted: ${[...left].join(" ")}` : ""),
        );
      }
    }
    // Its DHCP clients outlive the agent by design; those still running after the deletions and
    // the agent's stop are leftovers of this run.
    const children = agent && agent.exitCode === null ? await childProcesses(agent.child.pid) : [];
    await agent?.stop();
    const left = await endLeftovers(children);
    if (left.length) {
      log(`ended ${left.length} process(es) the agent left behind: ${left.join("; ")}`);
    }
    await netmon?.stop().catch(() => {});
    await cloud.stop().catch(() => {});
    // Whatever the agent could not delete (it died, or Docker refused): by name.
    await removeByPrefix([PREFIX, `macvlan_${PARENT}_`]);
    await parent?.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      minutes: { type: "string", default: "3" },
      seed: { type: "string" },
      runtimes: { type: "string", default: "20" },
      actors: { type: "string", default: ACTORS.join(",") },
      "agent-v8-flags": { type: "string", default: "" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno run -A scripts/bench_soak.ts [--minutes 3] [--seed N] [--runtimes 20]\n" +
        `  [--actors ${ACTORS.join(",")}] [--agent-v8-flags FLAGS]\n` +
        "A compressed day on one agent (issue 14); --minutes 24 is the full day (< 30 min).\n" +
        "Needs root and a Docker engine; restarts dockerd. Prints one JSON line on stdout.",
    );
    Deno.exit(0);
  }
  const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const actors = values.actors.split(",").filter((x) => x !== "");
  const unknown = actors.filter((x) => !(ACTORS as readonly string[]).includes(x));
  if (unknown.length) {
    console.error(`--actors: unknown ${unknown.join(",")}; known: ${ACTORS.join(",")}`);
    Deno.exit(2);
  }
  const out = await benchSoak(
    Number(values.minutes),
    seed,
    Number(values.runtimes),
    new Set(actors as Actor[]),
    values["agent-v8-flags"],
  );
  log(
    `RSS peak ${out.rss_peak_mib} MiB, after warm-up ${out.rss_after_warmup_mib} → end ` +
      `${out.rss_end_mib} MiB, slope ${out.rss_slope_mib_per_h} MiB/h, fitted growth ` +
      `${out.rss_growth_after_warmup_mib} MiB (aim ≤ ${AIM_MIB}): ${out.pass ? "PASS" : "FAIL"}`,
  );
  console.log(JSON.stringify(out));
}
