/**
 * The executor: one effect per step kind (a table the compiler checks for completeness). One
 * runtime's failure never stops the others: every member of a batch runs in its own promise,
 * with a bounded concurrency.
 *
 * @module
 */
import type { StoredVnic } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import { DockerError, type DockerPort } from "../docker/port.ts";
import { internalLabels, internalNetworkName, macvlanLabels } from "../runtimes/naming.ts";
import { createInternalNetwork } from "../runtimes/internal_pool.ts";
import { applyRestartPolicy } from "../runtimes/restart_policy.ts";
import { type NamespacePort, restoreMac } from "./mac_restore.ts";
import type { Member, Step, TargetNetwork } from "./types.ts";

/** Connects, disconnects and MAC restores in flight at once. The engine serialises endpoint
 * changes (35-40 ms each on the 2-core build VM with Docker 26.1: 50 runtimes leave in ~2.0 s and
 * join in ~1.7 s); 8 keeps the nsenter spawns overlapping with that queue. Measured with
 * scripts/bench_rewire.ts: 16 in flight was no faster, 50 was slower (leave 2.6 s). */
export const DEFAULT_CONCURRENCY = 8;

/** What the executor needs. */
export interface ExecutorDeps {
  /** Docker engine. */
  docker: DockerPort;
  /** Namespaces (MAC restore). */
  ns: NamespacePort;
  /** Persisted vNICs (the network actually used is written back). */
  vnics: {
    get(runtime: string): StoredVnic[] | undefined;
    set(runtime: string, v: StoredVnic[]): Promise<void>;
  };
  /** Re-creates a runtime whose container is gone, from its persisted configuration. */
  recreate(runtime: string): Promise<void>;
  /** Called after the runtime joined its internal network (registry, agent's own join). */
  internalConnected?(runtime: string): Promise<void>;
  /** Serialises work per MACVLAN parent with the create path (shared with the manager). */
  parentMutex: { run<T>(key: string, fn: () => Promise<T>): Promise<T> };
  /** Logger. */
  log: Logger;
  /** Bound of parallel connects. */
  concurrency?: number;
  /** Extra labels of every object we create (the agent's scope). */
  labels?: Record<string, string>;
  /** `runtime|network` to the Docker endpoint MAC seen when the MAC inside was verified. */
  verified?: Map<string, string>;
}

/** Outcome of one step. */
export interface StepResult {
  /** The step. */
  step: Step;
  /** Failures, by runtime (empty when everything worked). */
  failures: { runtime: string | null; error: string }[];
}

/** Runs `fn` over `items` with at most `limit` in flight; never rejects. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const msg = (e: unknown) => e instanceof Error ? e.message : String(e);

/** Gets or creates the target MACVLAN network; reuses a pool Docker says overlaps. */
async function ensureNetwork(deps: ExecutorDeps, to: TargetNetwork): Promise<string> {
  if (to.exists) return to.name;
  try {
    await deps.docker.createNetwork({
      name: to.name,
      driver: "macvlan",
      internal: false,
      options: { parent: to.parent },
      subnets: [{ subnet: to.subnet, ...(to.gateway ? { gateway: to.gateway } : {}) }],
      labels: macvlanLabels(to.parent, to.subnet, deps.labels),
    });
    return to.name;
  } catch (err) {
    if (err instanceof DockerError && err.statusCode === 409) {
      const existing = (await deps.docker.listNetworks({ driver: "macvlan" })).find((n) =>
        n.name === to.name || (n.options.parent === to.parent && n.subnets[0]?.subnet === to.subnet)
      );
      if (existing) return existing.name;
    }
    throw err;
  }
}

/** Connects one member and puts its MAC back; records the network in the vNIC store. */
async function connectMember(deps: ExecutorDeps, network: string, m: Member): Promise<void> {
  await deps.docker.connectNetwork(network, m.runtime, {
    network,
    ...(m.ipv4 ? { ipv4: m.ipv4 } : {}),
    mac: m.mac,
  });
  const info = await deps.docker.inspectContainer(m.runtime);
  const endpoint = info?.networks[network];
  if (info && info.pid > 0 && endpoint?.mac) {
    await restoreMac(deps.ns, info.pid, endpoint.mac, m.mac);
    deps.verified?.set(`${m.runtime}|${network}`, endpoint.mac);
  }
  const vnics = deps.vnics.get(m.runtime);
  if (vnics) {
    await deps.vnics.set(
      m.runtime,
      vnics.map((v) => v.name === m.vnic ? { ...v, docker_network_name: network } : v),
    );
  }
}

async function connectAll(deps: ExecutorDeps, network: string, members: Member[]) {
  const settled = await mapLimit(
    members,
    deps.concurrency ?? DEFAULT_CONCURRENCY,
    (m) => connectMember(deps, network, m),
  );
  return settled.flatMap((r, i) =>
    r.status === "rejected" ? [{ runtime: members[i]!.runtime, error: msg(r.reason) }] : []
  );
}

/** Removes a network after disconnecting whatever is attached (e.g. the agent itself). */
async function removeNetwork(deps: ExecutorDeps, name: string): Promise<void> {
  const net = await deps.docker.inspectNetwork(name);
  if (!net) return;
  for (const c of net.containers) await deps.docker.disconnectNetwork(name, c.id, true);
  await deps.docker.removeNetwork(name);
}

/** Re-creates every MACVLAN network of a stopped runtime and connects it again. */
async function rebuildMacvlans(deps: ExecutorDeps, runtime: string): Promise<void> {
  for (const v of deps.vnics.get(runtime) ?? []) {
    const name = v.docker_network_name;
    if (!name) continue;
    const net = await deps.docker.inspectNetwork(name);
    const subnet = net?.subnets[0]?.subnet ?? v.parent_subnet;
    if (!subnet) continue;
    await deps.parentMutex.run(v.parent_interface, async () => {
      await deps.docker.disconnectNetwork(name, runtime, true).catch(() => {});
      if (net) await removeNetwork(deps, name);
      const gateway = net?.subnets[0]?.gateway ?? v.parent_gateway ?? null;
      await ensureNetwork(deps, {
        name,
        parent: v.parent_interface,
        subnet,
        gateway,
        exists: false,
      });
      await deps.docker.connectNetwork(name, runtime, {
        network: name,
        ...(v.network_mode === "manual" && v.ip_address ? { ipv4: v.ip_address } : {}),
      });
    });
    deps.log.warn("MACVLAN network rebuilt after Docker lost it", { runtime, network: name });
  }
}

/** Puts every vNIC's persisted MAC back inside a running runtime. */
async function restoreMacs(deps: ExecutorDeps, runtime: string): Promise<StepResult["failures"]> {
  const info = await deps.docker.inspectContainer(runtime);
  const failures: StepResult["failures"] = [];
  for (const v of deps.vnics.get(runtime) ?? []) {
    const endpoint = v.docker_network_name ? info?.networks[v.docker_network_name] : undefined;
    if (!info || info.pid <= 0 || !endpoint?.mac) continue;
    await restoreMac(deps.ns, info.pid, endpoint.mac, v.mac_address).catch((err) =>
      failures.push({ runtime, error: msg(err) })
    );
  }
  return failures;
}

type Effects = {
  [K in Step["kind"]]: (
    deps: ExecutorDeps,
    step: Extract<Step, { kind: K }>,
  ) => Promise<StepResult["failures"]>;
};

const effects: Effects = {
  async recreate_runtime(deps, s) {
    // The create path makes the internal network itself; a leftover one would make it fail.
    await removeNetwork(deps, internalNetworkName(s.runtime));
    await deps.recreate(s.runtime);
    return [];
  },
  async restore_mac(deps, s) {
    const info = await deps.docker.inspectContainer(s.runtime);
    const endpoint = info?.networks[s.network];
    if (!info || info.pid <= 0 || !endpoint?.mac) return [];
    await restoreMac(deps.ns, info.pid, endpoint.mac, s.mac);
    deps.verified?.set(`${s.runtime}|${s.network}`, endpoint.mac);
    return [];
  },
  async remove_container(deps, s) {
    await deps.docker.removeContainer(s.name, true);
    return [];
  },
  async remove_network(deps, s) {
    await removeNetwork(deps, s.name);
    return [];
  },
  async create_internal_network(deps, s) {
    await createInternalNetwork(deps.docker, deps.parentMutex, {
      name: internalNetworkName(s.runtime),
      driver: "bridge",
      internal: true,
      options: {},
      subnets: [],
      labels: internalLabels(s.runtime, deps.labels),
    });
    return [];
  },
  async connect_internal(deps, s) {
    await deps.docker.connectNetwork(internalNetworkName(s.runtime), s.runtime);
    await deps.internalConnected?.(s.runtime);
    return [];
  },
  async start(deps, s) {
    await applyRestartPolicy(deps.docker, s.runtime, "running");
    try {
      await deps.docker.startContainer(s.runtime);
    } catch (err) {
      if (/network id .* not found|failed to create endpoint/i.test(msg(err))) {
        // After a daemon restart Docker sometimes cannot restore a MACVLAN network from its
        // state ("Could not create macvlan network ... from persistent state"): the network is
        // listed but unusable, and the runtime cannot start. Rebuild it and start again.
        await rebuildMacvlans(deps, s.runtime);
        await deps.docker.startContainer(s.runtime);
        return await restoreMacs(deps, s.runtime);
      }
      // Created with real-time ulimits on an engine that cannot grant them (the agent died before
      // its create fell back): it can never start as it is. It is not running, so re-create it.
      if (!/setting rlimit/i.test(msg(err))) throw err;
      deps.log.warn("Runtime cannot start with its ulimits: re-creating it", {
        runtime: s.runtime,
      });
      await deps.docker.removeContainer(s.runtime, true);
      await removeNetwork(deps, internalNetworkName(s.runtime));
      await deps.recreate(s.runtime);
    }
    return [];
  },
  async stop(deps, s) {
    await applyRestartPolicy(deps.docker, s.runtime, "stopped");
    // 10 s: Docker's default grace period; the runtime stops its PLC cycle on SIGTERM.
    await deps.docker.stopContainer(s.runtime, 10);
    return [];
  },
  rewire_parent(deps, s) {
    return deps.parentMutex.run(s.parent, async () => {
      const leaving = [...s.members, ...s.detach];
      const failures: StepResult["failures"] = [];
      const t0 = performance.now();
      const gone = await mapLimit(
        leaving,
        deps.concurrency ?? DEFAULT_CONCURRENCY,
        (m) => deps.docker.disconnectNetwork(s.from, m.runtime, true),
      );
      gone.forEach((r, i) => {
        // Not connected any more (e.g. a crash mid-rewire) is what we wanted anyway.
        if (
          r.status === "rejected" &&
          !(r.reason instanceof DockerError && r.reason.statusCode === 404)
        ) {
          failures.push({ runtime: leaving[i]!.runtime, error: msg(r.reason) });
        }
      });
      try {
        await deps.docker.removeNetwork(s.from);
      } catch (err) {
        if (!(err instanceof DockerError && err.statusCode === 404)) throw err;
      }
      const t1 = performance.now();
      const network = await ensureNetwork(deps, s.to);
      const t2 = performance.now();
      const connected = await connectAll(deps, network, s.members);
      const ms = (a: number, b: number) => Math.round(b - a);
      deps.log.info("Parent re-wired", {
        parent: s.parent,
        runtimes: s.members.length,
        leave_ms: ms(t0, t1),
        network_ms: ms(t1, t2),
        join_ms: ms(t2, performance.now()),
      });
      return [...failures, ...connected];
    });
  },
  attach(deps, s) {
    return deps.parentMutex.run(s.to.parent, async () => {
      const network = await ensureNetwork(deps, s.to);
      return connectAll(deps, network, s.members);
    });
  },
  report() {
    return Promise.resolve([]);
  },
};

/** Executes one step; a thrown error becomes a failure of the whole step. */
export async function execute(deps: ExecutorDeps, step: Step): Promise<StepResult> {
  const fn = effects[step.kind] as (d: ExecutorDeps, s: Step) => Promise<StepResult["failures"]>;
  try {
    return { step, failures: await fn(deps, step) };
  } catch (err) {
    // Blame the runtimes the step was for, so each one's status shows why it is not repaired.
    const runtimes = "runtime" in step
      ? [step.runtime]
      : "members" in step && step.members.length
      ? step.members.map((m) => m.runtime)
      : [null];
    return { step, failures: runtimes.map((runtime) => ({ runtime, error: msg(err) })) };
  }
}
