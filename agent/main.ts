/**
 * Composition root of the agent: reads the configuration, builds the real adapters (mTLS
 * Socket.IO session, /proc host sampler, consumption buffers, file logger) and wires them.
 * Everything below receives its dependencies as arguments.
 *
 * @module
 */
import { type Config, helpText, parseConfig } from "./config.ts";
import { formatReport, runDoctor } from "./doctor.ts";
import { createDispatcher } from "./dispatch.ts";
import { buildHandlerTable } from "./handlers/mod.ts";
import { type HostFacts, ipv4Addresses, osName } from "./handlers/get_consumption_orchestrator.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { createLogger } from "./log.ts";
import { Consumption } from "./metrics/consumption.ts";
import { HostSampler } from "./metrics/host.ts";
import { InterfaceCache } from "./network/interface_cache.ts";
import { startNetworkFollowing } from "./reconcile/wiring.ts";
import { wireRuntimes } from "./runtimes/wiring.ts";
import { IdentityError, loadIdentity } from "./session/identity.ts";
import { socketIoSession } from "./session/socketio.ts";

/** Buffers are written every 60 s: a crash loses at most 12 samples per key. */
const PERSIST_PERIOD_MS = 60_000;
/** Running handlers get 10 s to finish at shutdown (Docker's default stop grace period is 10 s). */
const DRAIN_MS = 8_000;

async function hostFacts(diskTotalBytes: () => number): Promise<HostFacts> {
  let os = "Linux";
  for (const f of ["/host/etc/os-release", "/etc/os-release"]) {
    try {
      os = osName(await Deno.readTextFile(f)) ?? os;
      break;
    } catch { /* try the next */ }
  }
  return {
    ip_addresses: ipv4Addresses(Deno.networkInterfaces()),
    memory: Math.round(Deno.systemMemoryInfo().total / 2 ** 20),
    cpu: navigator.hardwareConcurrency,
    os,
    kernel: Deno.osRelease(),
    disk: Math.round(diskTotalBytes() / 1e8) / 10,
  };
}

async function run(cfg: Config): Promise<number> {
  const startedAt = Date.now();
  const log = createLogger({ level: cfg.logLevel, stateDir: cfg.stateDir });
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

  const consumption = new Consumption(`${cfg.stateDir}/metrics`, { log });
  await consumption.restore();
  const sampler = new HostSampler(consumption, log);
  sampler.start();
  const persistTimer = setInterval(() => void consumption.persist(), PERSIST_PERIOD_MS);
  // netmon's view of the host interfaces (fed by agent/network/netmon_client.ts once wired).
  const view = new InterfaceCache();
  const docker = await wireRuntimes({
    dockerSocket: cfg.dockerSocket,
    stateDir: cfg.stateDir,
    runtimeImage: cfg.runtimeImage,
    log,
    consumption,
    view,
    exit: (code) => Deno.exit(code),
    agentId: identity.agentId,
  });

  // Follow the host network (netmon) and keep every runtime converged (reconciler).
  const follow = startNetworkFollowing({
    manager: docker.runtimes,
    cache: view,
    netmonSocket: cfg.netmonSocket,
    log,
  });
  const h = docker.handlers;
  const table = buildHandlerTable({
    consumption,
    facts: () => hostFacts(() => sampler.snapshot.diskTotal),
    now: () => Math.floor(Date.now() / 1000),
  }, {
    ...h,
    // The cloud starting a runtime again lifts the crash-loop guard.
    start_device: (m) => (follow.guard.clear(m.device_id), h.start_device!(m)),
    restart_device: (m) => (follow.guard.clear(m.device_id), h.restart_device!(m)),
    // Self-destruct removes every runtime: the reconciler must not repair them meanwhile.
    delete_orchestrator: async (m) => {
      follow.reconciler.disable();
      await follow.reconciler.settle();
      return await h.delete_orchestrator!(m);
    },
    // Status shows what reconciliation could not fix (detached vNICs, IP conflicts, crash loop).
    get_device_status: async (m) => {
      const body = await h.get_device_status!(m);
      const problems = follow.problems.get(m.device_id);
      return problems.length
        ? {
          ...body,
          network_problems: problems.map(({ vnic, problem, message }) => ({
            vnic,
            code: problem.code,
            message,
          })),
        }
        : body;
    },
  });
  // A finished create or delete changes the desired state: converge right after it.
  docker.runtimes.onSettled((name) => void follow.reconciler.trigger(`operation on ${name}`));
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
    log,
    // The Dockerfile's HEALTHCHECK wants <state-dir>/health fresher than 60 s: touched on every
    // tick, connected or not (a cloud outage is no reason to restart the container).
    onTick: () =>
      void Deno.writeTextFile(`${cfg.stateDir}/health`, new Date().toISOString() + "\n").catch(
        () => {},
      ),
  });
  session.start();

  const done = Promise.withResolvers<number>();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Shutting down on ${signal}`, { in_flight: dispatcher.inFlight() });
    dispatcher.stop();
    await dispatcher.drain(DRAIN_MS);
    await follow.stop();
    await docker.stop();
    stopHeartbeat();
    sampler.stop();
    clearInterval(persistTimer);
    await consumption.persist().catch((e) => log.error(`Final persist failed: ${e.message}`));
    await session.close();
    log.info("Stopped");
    log.close();
    done.resolve(0);
  };
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
  if (res.config.command === "doctor") {
    const results = await runDoctor(res.config);
    console.log(formatReport(results));
    return results.every((r) => r.ok) ? 0 : 1;
  }
  return await run(res.config);
}

if (import.meta.main) Deno.exit(await main());
