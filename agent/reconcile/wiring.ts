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
import { internalNetworkName } from "../runtimes/naming.ts";
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
  const deps: ExecutorDeps = {
    docker: core.docker,
    ns: o.ns ?? nsenterPort,
    vnics: core.vnics,
    parentMutex: core.parents,
    log: o.log,
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
    observe: () => observe(core.docker, o.cache, guard),
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
      if (u.discovery || u.changed.length || u.gone.length) void reconciler.trigger(what);
    },
  });
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
      await client;
      await reconciler.settle();
    },
  };
}
