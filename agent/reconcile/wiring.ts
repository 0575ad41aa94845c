/**
 * Builds the network-following side of the agent for the composition root: the netmon client
 * feeding the interface cache, and the reconciler (observe → plan → execute) triggered at start,
 * on every netmon discovery/change, and on a slow timer.
 *
 * @module
 */
import type { CreateNewRuntime } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import type { InterfaceCache } from "../network/interface_cache.ts";
import { startNetmonClient } from "../network/netmon_client.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";
import { internalNetworkName, LABELS } from "../runtimes/naming.ts";
import type { DockerEvent, DockerPort } from "../docker/port.ts";
import { CrashGuard } from "./crash_guard.ts";
import { execute, type ExecutorDeps } from "./executor.ts";
import { Reconciler } from "./loop.ts";
import { type NamespacePort, nsenterPort } from "./mac_restore.ts";
import { observe } from "./observe.ts";
import { ProblemBoard } from "./problems.ts";
import type { DesiredRuntime } from "./types.ts";

/** The slow timer: catches drift nobody told us about (a network removed by hand, a container
 * that died). 30 s bounds that repair time; a converged pass costs one list + inspects. */
export const RECONCILE_PERIOD_MS = 30_000;

/** Options of {@linkcode startNetworkFollowing}. */
export interface FollowOptions {
  /** The runtime manager (its core holds the Docker port, stores, locks). */
  manager: RuntimeManager;
  /** netmon's interface cache (also the manager's InterfaceView). */
  cache: InterfaceCache;
  /** netmon socket path; null: do not connect (tests driving the cache themselves). */
  netmonSocket: string | null;
  /** Logger. */
  log: Logger;
  /** Timer period (ms). */
  periodMs?: number;
  /** Namespace port (MAC restore); nsenter by default. */
  ns?: NamespacePort;
}

/** The running network-following side. */
export interface Following {
  /** The reconciler (trigger a pass, count passes). */
  reconciler: Reconciler;
  /** Current unfixable problems per runtime. */
  problems: ProblemBoard;
  /** Crash-loop guard (cleared when the cloud starts a runtime again). */
  guard: CrashGuard;
  /** Stops the client and the timer; waits for the pass in flight. */
  stop(): Promise<void>;
}

/** Re-subscribe delays after the event stream broke (daemon restart): 1 s, doubling to 30 s;
 * the slow timer covers the gap meanwhile. */
const EVENTS_RETRY_MIN_MS = 1_000;
const EVENTS_RETRY_MAX_MS = 30_000;

/** Whether an engine event concerns our runtimes (ours by label or by network name). */
export function isRelevantEvent(e: DockerEvent): boolean {
  if (e.type === "container") return e.labels[LABELS.managed] === "1";
  return e.name.startsWith("macvlan_") || e.name.endsWith("_internal");
}

/** Triggers a pass on Docker events for our objects (die, destroy, network disconnect ...). */
async function followDockerEvents(
  docker: DockerPort,
  reconciler: Reconciler,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  if (!docker.events) return;
  let delay = EVENTS_RETRY_MIN_MS;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      await docker.events((e) => {
        if (isRelevantEvent(e)) void reconciler.trigger(`docker ${e.type} ${e.action} ${e.name}`);
      }, signal);
    } catch (err) {
      log.warn(`Docker event stream lost: ${(err as Error).message}`);
    }
    if (signal.aborted) return;
    // A stream that lived a while was healthy: retry fast. Then converge what we missed.
    if (Date.now() - started > EVENTS_RETRY_MAX_MS) delay = EVENTS_RETRY_MIN_MS;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
    if (signal.aborted) return;
    delay = Math.min(delay * 2, EVENTS_RETRY_MAX_MS);
    // The engine may have been down: what failed meanwhile deserves a try at once.
    reconciler.invalidate();
    void reconciler.trigger("docker events resumed");
  }
}

/** Rebuilds the create message of a runtime from what was persisted. */
function recreateMessage(manager: RuntimeManager, name: string): CreateNewRuntime {
  const image = manager.core.registry.get(name)?.image ?? "";
  const tag = /:([^/:]+)$/.exec(image)?.[1] ?? "latest";
  return {
    container_name: name,
    vnic_configs: manager.core.vnics.get(name) ?? [],
    runtime_version: tag,
  };
}

/** Starts following the host network. */
export function startNetworkFollowing(o: FollowOptions): Following {
  const core = o.manager.core;
  const guard = new CrashGuard();
  const problems = new ProblemBoard();
  const abort = new AbortController();
  const verified = new Map<string, string>();
  const deps: ExecutorDeps = {
    verified,
    docker: core.docker,
    ns: o.ns ?? nsenterPort,
    vnics: core.vnics,
    parentMutex: core.parents,
    log: o.log,
    labels: core.config.extraLabels,
    recreate: (name) => {
      o.log.warn("Re-creating a runtime whose container is gone", { runtime: name });
      o.manager.create(recreateMessage(o.manager, name));
      return Promise.resolve();
    },
    async internalConnected(name) {
      const self = core.config.selfContainer;
      if (self) {
        await core.docker.connectNetwork(internalNetworkName(name), self).catch(() => {});
      }
      const info = await core.docker.inspectContainer(name);
      const ip = info?.networks[internalNetworkName(name)]?.ipv4;
      if (ip) await core.registry.update(name, { internal_ip: ip });
    },
  };
  const desired = (): DesiredRuntime[] =>
    core.registry.names().flatMap((name) => {
      const entry = core.registry.get(name);
      if (!entry || entry.deleting) return [];
      return [{ name, running: entry.desired === "running", vnics: core.vnics.get(name) ?? [] }];
    });
  const reconciler = new Reconciler({
    observe: async () => ({
      ...await observe(core.docker, o.cache, guard, core.config.extraLabels),
      macVerified: (rt: string, net: string, mac: string) => verified.get(`${rt}|${net}`) === mac,
    }),
    desired,
    busy: () => core.locks.held(),
    execute: (step) => execute(deps, step),
    problems,
    log: o.log,
  });

  const client = o.netmonSocket === null ? Promise.resolve() : startNetmonClient({
    path: o.netmonSocket,
    cache: o.cache,
    log: o.log,
    signal: abort.signal,
    onUpdate: (u) => {
      const what = u.discovery ? "netmon discovery" : `netmon change ${[
        ...u.changed.map((c) => c.interface),
        ...u.gone.map((g) => g.interface),
      ]}`;
      if (u.discovery || u.changed.length || u.gone.length) {
        reconciler.invalidate(); // the host changed: earlier failures may not hold any more
        void reconciler.trigger(what);
      }
    },
  });
  const events = followDockerEvents(core.docker, reconciler, o.log, abort.signal);
  const timer = setInterval(
    () => void reconciler.trigger("timer"),
    o.periodMs ?? RECONCILE_PERIOD_MS,
  );
  void reconciler.trigger("start");

  return {
    reconciler,
    problems,
    guard,
    async stop() {
      abort.abort();
      clearInterval(timer);
      await Promise.all([client, events]);
      await reconciler.settle();
    },
  };
}
