/**
 * Composition root of the agent: reads the configuration, builds the real adapters (mTLS
 * Socket.IO session, dockerode, the netmon client, /proc host sampler, consumption buffers, file
 * logger), the runtime engine (desired state → reconciler → executor, the only writer to Docker),
 * and the handler table. Everything below receives its dependencies as arguments; nothing here
 * decides anything about runtimes.
 *
 * @module
 */
import { parsePeriod, type StoredVnic } from "../contracts/mod.ts";
import { type Config, helpText, parseConfig } from "./config.ts";
import { createDispatcher } from "./dispatch.ts";
import { dockerodePort } from "./docker/dockerode_adapter.ts";
import type { DockerPort } from "./docker/port.ts";
import { buildHandlerTable } from "./handlers/mod.ts";
import { readHostFacts } from "./handlers/get_consumption_orchestrator.ts";
import { HEALTH_REFRESH_MS, startHealthFile } from "./health_file.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { createLogger, type Logger } from "./log.ts";
import { Consumption, SAMPLE_PERIOD_S } from "./metrics/consumption.ts";
import { HostSampler } from "./metrics/host.ts";
import { InterfaceCache } from "./network/interface_cache.ts";
import { startNetmonClient } from "./network/netmon_client.ts";
import { CrashGuard } from "./reconcile/crash_guard.ts";
import { followDockerEvents } from "./reconcile/docker_events.ts";
import { Executor } from "./reconcile/executor.ts";
import { Reconciler } from "./reconcile/loop.ts";
import { type NamespacePort, nsenterPort } from "./reconcile/mac_restore.ts";
import { observe } from "./reconcile/observe.ts";
import { ProblemBoard } from "./reconcile/problems.ts";
import { RuntimeCommands } from "./runtimes/commands.ts";
import { DesiredState } from "./runtimes/desired.ts";
import { type DhcpPort, lazyDhcp } from "./lan/dhcp_port.ts";
import { mergeLease } from "./lan/lease.ts";
import { arpNeighbours, arpProbe } from "./lan/arp_probe.ts";
import { nsenterRunner } from "./lan/ports.ts";
import type { InterfaceView } from "./runtimes/interface_view.ts";
import { cryptoRandom, type RandomBytes } from "./runtimes/mac.ts";
import { agentScope } from "./runtimes/naming.ts";
import { Operations } from "./runtimes/operations.ts";
import { detectSelfContainer } from "./runtimes/self_container.ts";
import { ConsumptionSampler, type ConsumptionSink } from "./runtimes/stats.ts";
import { RuntimeView } from "./runtimes/view.ts";
import { readSerialDevices } from "./serial/devices.ts";
import { IdentityError, loadIdentity } from "./session/identity.ts";
import { socketIoSession } from "./session/socketio.ts";
import { installGuard, RESTART_EXIT_CODE } from "./guard.ts";
import { createTicker } from "./ticker.ts";

/** The default image of new runtimes (interfaces.md `--runtime-image`). */
export const DEFAULT_RUNTIME_IMAGE = "ghcr.io/autonomy-logic/openplc-runtime:latest";

/** Buffers are written every 60 s: a crash loses at most 12 samples per key. */
const PERSIST_PERIOD_MS = 60_000;
/** Running handlers get 10 s to finish at shutdown (Docker's default stop grace period is 10 s). */
const DRAIN_MS = 8_000;

/** The slow timer: catches drift nobody told us about (a network removed by hand, a container
 * that died). 30 s bounds that repair time; a converged pass costs one list + inspects. */
export const RECONCILE_PERIOD_MS = 30_000;
/** A state directory that cannot be read (a disk not mounted yet) is tried again this often;
 * meanwhile nothing is planned and commands answer "starting up". */
const LOAD_RETRY_MS = 2_000;

/** What the runtime engine is built from. */
export interface EngineOptions {
  /** Docker engine. */
  docker: DockerPort;
  /** `--state-dir`. */
  stateDir: string;
  /** `--runtime-image`. */
  runtimeImage?: string;
  /** Labels of every object we create (the agent's scope; tests add theirs). */
  labels: Record<string, string>;
  /** The agent's own container id when it runs in one. */
  selfContainer?: string | null;
  /** Host interfaces (netmon's cache). */
  view: InterfaceView;
  /** Logger. */
  log: Logger;
  /** Consumption buffers (a deleted runtime's are dropped). */
  sink?: ConsumptionSink;
  /** Ends the process after a self-destruct on the host. */
  exit?: (code: number) => void;
  /** Namespaces (MAC restore). */
  ns?: NamespacePort;
  /** Docker's stop grace period (s). */
  stopTimeoutS?: number;
  /** Randomness for MACs. */
  random?: RandomBytes;
  /** DHCP clients of DHCP vNICs (default: the real supervisor under `<stateDir>/dhcp`). */
  dhcp?: DhcpPort;
  /** `--allowed-parents` (null: any interface). */
  allowedParents?: readonly string[] | null;
  /** ARP probe of a static address from the host before it is brought up (default: busybox
   * arping on the parent, from the host's namespace). */
  arpProbe?: (
    parent: string,
    ip: string,
  ) => Promise<{ taken: false } | { taken: true; mac: string }>;
  /** Readiness probe of a runtime without a Docker health check (GET /api/version). */
  probe?: (runtime: string) => Promise<"healthy" | "unhealthy" | "starting">;
}

/** The runtime engine: desired state, commands, the read-only view, and the reconciler. */
export interface Engine {
  /** The desired state. */
  desired: DesiredState;
  /** The command port. */
  commands: RuntimeCommands;
  /** The read-only view. */
  runtimes: RuntimeView;
  /** The reconciler. */
  reconciler: Reconciler;
  /** The executor (warnings, verified MACs). */
  executor: Executor;
  /** Operation status. */
  ops: Operations;
  /** Loads the desired state (retrying until it can) and asks for the first pass. */
  start(): Promise<void>;
  /** Waits until no operation runs and no pass is in flight (tests, shutdown). */
  settle(timeoutMs?: number): Promise<void>;
  /** Stops the loop and waits for the pass in flight. */
  stop(): Promise<void>;
}

/** Wires the runtime engine (used by `run` below, and by the tests over a real engine). */
export function wireEngine(o: EngineOptions): Engine {
  const log = o.log;
  const desired = new DesiredState(o.stateDir, log);
  const ops = new Operations();
  const guard = new CrashGuard();
  const problems = new ProblemBoard();
  const restarts = new Set<string>();
  const sink = o.sink ?? { record() {}, forget() {} };
  const selfContainer = o.selfContainer ?? null;
  // The executor asks for passes; the reconciler is built after it.
  const ref: { reconciler?: Reconciler } = {};
  const dhcp = o.dhcp ?? lazyDhcp(o.stateDir, log);
  // A lease change is persisted with its vNIC (dhcp_ip, dhcp_gateway, dhcp_dns, reference §8).
  dhcp.onChange((rt, vnic, view) => {
    void desired.update(rt, (d) => ({
      ...d,
      vnics: d.vnics.map((v) =>
        v.name === vnic
          ? mergeLease(v as unknown as Record<string, unknown>, view) as unknown as StoredVnic
          : v
      ),
    })).catch((err) => log.error(`Cannot record the lease of ${rt}/${vnic}: ${err.message}`));
    if (view.state === "expired") {
      log.warn("DHCP lease expired without an answer: address removed", { runtime: rt, vnic });
    }
  });
  const executor = new Executor({
    dhcp,
    // From the host's namespace: pid 1's (the agent in a container runs with pid=host), or the
    // agent's own when it runs on the host and may not enter pid 1's (a sandboxed init).
    probe: o.arpProbe ??
      ((iface, ip) =>
        arpProbe(nsenterRunner, { pid: 1, iface, ip }).catch(() =>
          arpProbe(nsenterRunner, { pid: Deno.pid, iface, ip })
        )),
    docker: o.docker,
    ns: o.ns ?? nsenterPort,
    desired,
    progress: {
      // A failed create's rollback keeps the step where it failed in the status.
      step: (rt, step, message, progress) =>
        desired.get(rt)?.error ? undefined : ops.step(rt, step, message, progress),
      done: (rt) => ops.clear(rt),
      fail: (rt, error) => ops.fail(rt, error),
    },
    log,
    labels: o.labels,
    selfContainer,
    stopTimeoutS: o.stopTimeoutS ?? 10,
    onForget: (rt) => {
      sink.forget(rt);
      guard.clear(rt);
    },
    trigger: (reason) => void ref.reconciler?.trigger(reason),
    restarted: (rt) => restarts.delete(rt),
    exit: o.exit ?? ((code: number) => Deno.exit(code)),
  });
  const rec = new Reconciler({
    observe: async (call) => ({
      ...await observe(o.docker, o.view, guard, o.labels, Date.now, call, [
        ...desired.list().filter((d) => d.legacy).map((d) => d.name),
        ...desired.legacyCandidates(),
      ]),
      macVerified: (rt: string, net: string, mac: string) =>
        executor.verified.get(`${rt}|${net}`) === mac,
      dhcpKey: (rt: string) => executor.dhcpKeys.get(rt),
    }),
    loaded: () => desired.loaded,
    desired: () => desired.list(),
    context: () => ({
      labels: o.labels,
      selfContainer,
      restarts,
      selfDestruct: desired.selfDestruct,
      dhcpPruned: executor.dhcpPruned,
      legacy: new Map(desired.legacyCandidates().map((n) => [n, desired.legacyVnics(n)])),
    }),
    engine: (call) => executor.engineFacts(call),
    run: (steps, signal) => executor.run(steps, signal),
    execute: (step, signal) => executor.execute(step, signal),
    problems,
    log,
  });
  ref.reconciler = rec;
  const inspect = (name: string) => o.docker.inspectContainer(name);
  const commands = new RuntimeCommands({
    desired,
    ops,
    view: o.view,
    reconciler: rec,
    inspect,
    runtimeImage: o.runtimeImage ?? DEFAULT_RUNTIME_IMAGE,
    restarts,
    guard,
    log,
    random: o.random ?? cryptoRandom,
    allowedParents: o.allowedParents ?? null,
    neighbours: () =>
      arpNeighbours(nsenterRunner, 1).catch(() => arpNeighbours(nsenterRunner, Deno.pid)),
  });
  const runtimes = new RuntimeView({
    desired,
    ops,
    inspect,
    problems: (rt) =>
      problems.get(rt).map(({ vnic, problem, message }) => ({ vnic, code: problem.code, message })),
    warnings: (rt) => executor.warnings.get(rt),
    leases: (rt) => dhcp.leases(rt),
    ...(o.probe ? { probe: o.probe } : {}),
    trusted: () => rec.trusted,
    now: () => new Date(),
  });
  let stopped = false;
  return {
    desired,
    commands,
    runtimes,
    reconciler: rec,
    executor,
    ops,
    async start() {
      while (!stopped) {
        try {
          await desired.load();
          break;
        } catch (err) {
          log.error(`Cannot read the state directory, retrying: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, LOAD_RETRY_MS));
        }
      }
      await rec.trigger("start");
    },
    async settle(timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        await rec.settle();
        if (ops.active().length === 0) return;
        await new Promise((r) => setTimeout(r, 50));
        await rec.trigger("settle");
      }
      throw new Error(`Operations still running after ${timeoutMs} ms: ${ops.active().join(", ")}`);
    },
    async stop() {
      stopped = true;
      rec.stop();
      await rec.settle();
      dhcp.close();
    },
  };
}

async function run(cfg: Config): Promise<number> {
  const startedAt = Date.now();
  const log = createLogger({ level: cfg.logLevel, stateDir: cfg.stateDir });
  // No exception or rejection ends the agent silently (agent/guard.ts): logged, and a clean
  // shutdown then exit 70 for the container's restart policy when it cannot go on.
  const guarded: { restart?: () => Promise<void> } = {};
  installGuard({ log, restart: () => guarded.restart?.() ?? Promise.resolve() });
  let identity;
  try {
    identity = await loadIdentity(cfg.mtlsDir);
  } catch (err) {
    if (!(err instanceof IdentityError)) throw err;
    log.critical(`Cannot start: ${err.message}`);
    log.close();
    return 1;
  }
  let serverCa: string | undefined;
  if (cfg.serverCa) {
    try {
      serverCa = await Deno.readTextFile(cfg.serverCa);
    } catch (err) {
      log.critical(
        `Cannot start: ${cfg.serverCa}: cannot read the server CA: ${(err as Error).message}`,
      );
      log.close();
      return 1;
    }
  }
  log.info(`Agent ${identity.agentId} starting`, {
    server: cfg.serverUrl,
    state_dir: cfg.stateDir,
  });
  await Deno.mkdir(cfg.stateDir, { recursive: true }).catch(() => {});

  const consumption = new Consumption(`${cfg.stateDir}/metrics`, { log });
  await consumption.restore();
  // Every periodic task on one clock: the idle agent wakes once per 5 s, not once per timer
  // (agent/ticker.ts; issue 15).
  const ticker = createTicker({
    onError: (err) => log.error(`Periodic task failed: ${(err as Error)?.stack ?? err}`),
  });
  const sampler = new HostSampler(consumption, log);
  sampler.start(SAMPLE_PERIOD_S, ticker.every);
  const stopPersist = ticker.every(PERSIST_PERIOD_MS, () => void consumption.persist());
  const cache = new InterfaceCache();
  const docker = dockerodePort(cfg.dockerSocket);
  const labels = agentScope(identity.agentId);
  const engine = wireEngine({
    docker,
    stateDir: cfg.stateDir,
    runtimeImage: cfg.runtimeImage,
    allowedParents: cfg.allowedParents,
    labels,
    selfContainer: await detectSelfContainer(docker).catch(() => null),
    view: cache,
    log,
    sink: consumption,
    exit: (code) => Deno.exit(code),
  });
  const abort = new AbortController();
  const rec = engine.reconciler;
  const netmon = startNetmonClient({
    path: cfg.netmonSocket,
    cache,
    log,
    signal: abort.signal,
    onUpdate: (u) => {
      if (u.discovery || u.changed.length || u.gone.length) {
        const what = u.discovery ? "netmon discovery" : `netmon change ${[
          ...u.changed.map((c) => c.interface),
          ...u.gone.map((g) => g.interface),
        ]}`;
        rec.invalidate(); // the host changed: earlier failures may not hold any more
        void rec.trigger(what);
      }
    },
  });
  const events = followDockerEvents(
    docker,
    (why) => void rec.trigger(why),
    () => {
      rec.invalidate();
      void rec.trigger("docker events resumed");
    },
    log,
    abort.signal,
    labels,
  );
  const stopTimer = ticker.every(RECONCILE_PERIOD_MS, () => void rec.trigger("timer"));
  // No runtime of ours: nothing to sample, so the 5 s tick asks Docker nothing (idle, it made
  // 12 engine calls a minute for an empty list); one created or adopted is sampled from the
  // next tick on.
  const hasRuntimes = () =>
    engine.desired.list().length > 0 || engine.desired.legacyCandidates().length > 0;
  const sampled: DockerPort = {
    ...docker,
    listContainers: (l, o) => hasRuntimes() ? docker.listContainers(l, o) : Promise.resolve([]),
  };
  const sampling = new ConsumptionSampler(sampled, consumption, log, labels).run(
    abort.signal,
    ticker.every,
  );
  void engine.start();

  const series = (key: string, cpuPeriod: string, memoryPeriod: string) => {
    const now = Math.floor(Date.now() / 1000);
    const range = (p: string) => parsePeriod(p, now) ?? { start: now - 3600, end: now };
    return {
      cpu_usage: consumption.query(key, range(cpuPeriod)).map((s) => ({
        timestamp: s.timestamp,
        cpu: s.cpu,
      })),
      memory_usage: consumption.query(key, range(memoryPeriod)).map((s) => ({
        timestamp: s.timestamp,
        memory: s.memory,
      })),
    };
  };
  const table = buildHandlerTable({
    commands: engine.commands,
    runtimes: engine.runtimes,
    limits: (id) => engine.runtimes.inspect(id),
    query: series,
    host: {
      consumption,
      // The host's addresses as netmon sees them (issue 12): in a container the agent's own
      // interfaces are Docker bridges, not the plant's; before netmon reported, the system's.
      facts: async () => {
        const f = await readHostFacts(() => sampler.snapshot.diskTotal);
        const seen = cache.list();
        if (seen.length === 0) return f;
        return {
          ...f,
          ip_addresses: seen.flatMap((i) =>
            i.ipv4_addresses.map((a) => ({ interface: i.interface, ip_address: a.address }))
          ),
        };
      },
      now: () => Math.floor(Date.now() / 1000),
    },
    interfaces: { view: cache },
    serial: { list: () => readSerialDevices() },
    run: { pin: (d, f) => engine.commands.pin(d, f), log, stateDir: cfg.stateDir },
  });
  const dispatcher = createDispatcher(table, log);
  const session = socketIoSession({
    url: cfg.serverUrl,
    identity,
    ...(serverCa ? { serverCa } : {}),
    log,
  });
  session.onMessage((msg) => void dispatcher.handle(msg));
  const stopHeartbeat = startHeartbeat({
    session,
    agentId: identity.agentId,
    snapshot: () => sampler.snapshot,
    startedAt,
    intervalS: cfg.heartbeatInterval,
    every: ticker.every,
  });
  // The Dockerfile's HEALTHCHECK wants <state-dir>/health fresher than 60 s: rewritten every
  // 30 s, connected or not (a cloud outage is no reason to restart the container), and at once
  // on every link change; it also tells the installer whether this agent's session is up
  // (agent/health_file.ts).
  const stopHealth = ticker.every(
    HEALTH_REFRESH_MS,
    startHealthFile({
      path: `${cfg.stateDir}/health`,
      session,
      startedAt,
      serverUrl: cfg.serverUrl,
    }),
  );
  session.start();

  const done = Promise.withResolvers<number>();
  let stopping = false;
  const shutdown = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info(`Shutting down on ${signal}`, { in_flight: dispatcher.inFlight() });
    dispatcher.stop();
    await dispatcher.drain(DRAIN_MS);
    abort.abort();
    stopTimer();
    await engine.stop();
    await Promise.all([netmon, events, sampling]);
    stopHeartbeat();
    sampler.stop();
    stopPersist();
    stopHealth();
    ticker.stop();
    await consumption.persist().catch((e) => log.error(`Final persist failed: ${e.message}`));
    await session.close();
    log.info("Stopped");
    log.close();
    done.resolve(code);
  };
  guarded.restart = () => shutdown("guarded restart", RESTART_EXIT_CODE);
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => void shutdown(sig));
  }
  return await done.promise;
}

async function main(): Promise<number> {
  const res = parseConfig(Deno.args, Deno.env.toObject(), Deno.env.get("HOME"));
  if (!res.ok) {
    if (res.help) {
      console.log(helpText());
      return 0;
    }
    console.error(`agent: ${res.error}`);
    return 2;
  }
  if (res.config.command === "unpin") {
    // Loaded only for the command: the daemon never pays for it (issue 15).
    const { runUnpin } = await import("./unpin.ts");
    return await runUnpin(res.config.stateDir, res.config.unpinRuntime);
  }
  if (res.config.command === "doctor") {
    const { formatReport, runDoctor } = await import("./doctor.ts");
    const results = await runDoctor(res.config);
    console.log(formatReport(results));
    return results.every((r) => r.ok) ? 0 : 1;
  }
  return await run(res.config);
}

if (import.meta.main) Deno.exit(await main());
