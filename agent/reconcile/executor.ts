/**
 * The executor: one effect per step kind (a table the compiler checks for completeness), the only
 * code in the agent that changes Docker. Steps run in lanes (lanes.ts); every Docker call gets the
 * step's abort signal (the pass's, plus a timeout per step), so a pass that is cancelled has
 * nothing left in flight when it ends.
 *
 * @module
 */
import { ORCHESTRATOR_DEVICE_ID } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import { apiAtLeast, type CallOptions, DockerError, type DockerPort } from "../docker/port.ts";
import {
  createInternalNetwork,
  getOrCreateMacvlan,
  internalNetworkName,
  internalSpec,
  macvlanSpec,
  removeNetwork,
} from "../docker/networks.ts";
import { KeyedMutex } from "../runtimes/locks.ts";
import type { DesiredRuntime } from "../runtimes/desired.ts";
import { roleSelector } from "../runtimes/naming.ts";
import type { OperationStep } from "../runtimes/operations.ts";
import { mapLimit, runLanes, type StepOutcome, type StepResult } from "./lanes.ts";
import { type NamespacePort, restoreMac } from "./mac_restore.ts";
import type { DhcpPort } from "../lan/dhcp_port.ts";
import { Pulls } from "./pulls.ts";
import { dhcpKey } from "./plan.ts";
import type { Member, Step, TargetNetwork } from "./types.ts";

/** Connects, disconnects and MAC restores in flight at once. The engine serialises endpoint
 * changes (35-40 ms each on the 2-core build VM with Docker 26.1: 50 runtimes leave in ~2.0 s and
 * join in ~1.7 s); 8 keeps the nsenter spawns overlapping with that queue. Measured with
 * scripts/bench_rewire.ts: 16 in flight was no faster, 50 was slower (leave 2.6 s). The same
 * bound holds the runtime lanes of one pass. */
export const DEFAULT_CONCURRENCY = 8;

/** Bound of one step. A step is a handful of engine calls (each bounded by the adapter too); a
 * stop waits up to the grace period; a parent re-wire moves up to ~50 runtimes at ~40 ms per
 * endpoint change, twice. Past these the engine is hung: the step is cancelled and retried. */
export function stepTimeoutMs(step: Step, stopTimeoutS: number): number {
  switch (step.kind) {
    case "stop":
    case "restart":
    case "remove_container":
      return stopTimeoutS * 1000 + 60_000;
    case "rewire_parent":
    case "attach":
      return 300_000;
    default:
      return 60_000;
  }
}

/** Shown when the engine cannot raise the real-time limits the runtime asks for. */
export const ULIMIT_WARNING =
  "ulimits rtprio=99 and memlock=unlimited not applied: the Docker engine may not raise them " +
  "(it lacks CAP_SYS_RESOURCE); real-time scheduling is limited";

/** What the engine can do, learned as the agent goes (owned by the executor). */
export interface EngineFacts {
  /** API version (null until asked). */
  apiVersion: string | null;
  /** Set once the engine refused our ulimits (no CAP_SYS_RESOURCE): later creates omit them. */
  ulimitsRefused: boolean;
}

/** The desired state as the executor writes it. */
export interface DesiredWriter {
  /** One runtime. */
  get(name: string): DesiredRuntime | undefined;
  /** Writes a runtime. */
  put(d: DesiredRuntime): Promise<void>;
  /** Changes fields of a runtime. */
  patch(name: string, patch: Partial<Omit<DesiredRuntime, "name">>): Promise<void>;
  /** Read-modify-write of a runtime, serialised with every other write. */
  update(name: string, fn: (cur: DesiredRuntime) => DesiredRuntime): Promise<void>;
  /** Forgets a runtime. */
  forget(name: string): Promise<void>;
}

/** Where progress of cloud operations goes (`get_device_status`). */
export interface Progress {
  /** A runtime's operation moved to a step. */
  step(runtime: string, step: OperationStep, message?: string, progress?: number): void;
  /** A runtime's operation ended well. */
  done(runtime: string): void;
  /** A runtime's operation failed. */
  fail(runtime: string, error: string): void;
}

/** What the executor needs. */
export interface ExecutorDeps {
  /** Docker engine. */
  docker: DockerPort;
  /** Namespaces (MAC restore). */
  ns: NamespacePort;
  /** The desired state. */
  desired: DesiredWriter;
  /** Operation progress. */
  progress: Progress;
  /** Logger. */
  log: Logger;
  /** Labels of every object we create (the agent's scope). */
  labels: Record<string, string>;
  /** The agent's own container id when it runs in one. */
  selfContainer: string | null;
  /** Seconds Docker waits for a graceful stop before killing (its own default: 10). */
  stopTimeoutS: number;
  /** A runtime's tombstone is done: drop what is kept per runtime elsewhere (buffers, guard). */
  onForget(runtime: string): void;
  /** Asks for a pass (a background pull finished). */
  trigger(reason: string): void;
  /** A restart the cloud asked for was done (the one-shot request is consumed). */
  restarted?(runtime: string): void;
  /** Ends the process after a self-destruct on the host. */
  exit(code: number): void;
  /** Bound of parallel lanes and connects. */
  concurrency?: number;
  /** DHCP clients of DHCP vNICs (none: DHCP vNICs keep Docker's IPAM address, tests only). */
  dhcp?: DhcpPort;
  /** ARP probe of an address on a parent's LAN from the host (none: no probe, tests only). */
  probe?: (parent: string, ip: string) => Promise<{ taken: false } | { taken: true; mac: string }>;
}

const msg = (e: unknown) => e instanceof Error ? e.message : String(e);

/** The executor of one agent. */
export class Executor {
  #d: ExecutorDeps;
  /** Serialises get-or-create / removal of MACVLAN networks per parent. */
  #parents = new KeyedMutex();
  /** Serialises internal subnet allocation (two creates never pick the same subnet). */
  #pool = new KeyedMutex();
  /** `runtime|network` to the Docker endpoint MAC seen when the MAC inside was verified. */
  readonly verified = new Map<string, string>();
  /** What could not be honoured per runtime (shown as `warnings` in `get_device_status`). */
  readonly warnings = new Map<string, string[]>();
  /** Engine facts. */
  readonly engine: EngineFacts = { apiVersion: null, ulimitsRefused: false };
  /** Per runtime, what its DHCP clients were last made sure of (plan.ts `dhcpKey`). */
  readonly dhcpKeys = new Map<string, string>();
  /** Whether the DHCP clients of runtimes deleted while the agent was down were pruned. */
  dhcpPruned = false;
  #pulls: Pulls;

  /** Builds the executor. */
  constructor(deps: ExecutorDeps) {
    this.#d = deps;
    this.#pulls = new Pulls(deps.docker, deps.log, (image) => deps.trigger(`pulled ${image}`));
  }

  /** Asks the engine's API version once (MACs at create need 1.44). */
  async engineFacts(o?: CallOptions): Promise<{ macsAtCreate: boolean; ulimits: boolean }> {
    this.engine.apiVersion ??= (await this.#d.docker.version(o)).apiVersion;
    return {
      macsAtCreate: apiAtLeast(this.engine.apiVersion, 1, 44),
      ulimits: !this.engine.ulimitsRefused,
    };
  }

  /** Runs a plan's work steps; resolves when nothing of it is in flight any more. */
  run(steps: Step[], signal: AbortSignal): Promise<StepResult[]> {
    return runLanes(
      steps.filter((s) => s.kind !== "report"),
      this.#d.concurrency ?? DEFAULT_CONCURRENCY,
      (step) => this.execute(step, signal),
      signal,
    );
  }

  /** Runs one step with its timeout; a thrown error becomes a failure of the step. */
  async execute(step: Step, signal: AbortSignal): Promise<StepOutcome> {
    const o: CallOptions = {
      signal: AbortSignal.any([
        signal,
        AbortSignal.timeout(stepTimeoutMs(step, this.#d.stopTimeoutS)),
      ]),
    };
    const fn = effects[step.kind] as (x: Executor, s: Step, o: CallOptions) => Promise<Result>;
    try {
      const r = await fn(this, step, o);
      return r === "wait" ? { failures: [], wait: true } : { failures: r };
    } catch (err) {
      // Blame the runtimes the step was for, so each one's status shows why it is not repaired.
      const runtimes = "runtime" in step
        ? [step.runtime]
        : "members" in step && step.members.length
        ? step.members.map((m) => m.runtime)
        : [null];
      return { failures: runtimes.map((runtime) => ({ runtime, error: msg(err) })) };
    }
  }

  /** Drops what is kept per runtime here. */
  forgetRuntime(runtime: string): void {
    this.warnings.delete(runtime);
    this.dhcpKeys.delete(runtime);
    for (const k of this.verified.keys()) if (k.startsWith(`${runtime}|`)) this.verified.delete(k);
  }

  // --- shared pieces of the effects -----------------------------------------------------------

  /** Gets or creates a MACVLAN network under its parent's lock. */
  ensureNetwork(to: TargetNetwork, o: CallOptions): Promise<string> {
    if (to.exists) return Promise.resolve(to.name);
    return getOrCreateMacvlan(
      this.#d.docker,
      macvlanSpec(to.parent, to.subnet, to.gateway, this.#d.labels, to.name),
      o,
    );
  }

  /** Connects one member and puts its MAC back; records the network in the desired state. */
  async connectMember(network: string, m: Member, o: CallOptions): Promise<void> {
    const d = this.#d;
    await d.docker.connectNetwork(network, m.runtime, {
      network,
      ...(m.ipv4 ? { ipv4: m.ipv4 } : {}),
      mac: m.mac,
    }, o);
    const info = await d.docker.inspectContainer(m.runtime, o);
    const endpoint = info?.networks[network];
    if (info && info.pid > 0 && endpoint?.mac) {
      await restoreMac(d.ns, info.pid, endpoint.mac, m.mac);
      this.verified.set(`${m.runtime}|${network}`, endpoint.mac);
    }
    await d.desired.update(m.runtime, (rt) => ({
      ...rt,
      vnics: rt.vnics.map((v) => v.name === m.vnic ? { ...v, docker_network_name: network } : v),
    }));
  }

  async connectAll(network: string, members: Member[], o: CallOptions) {
    const settled = await mapLimit(
      members,
      this.#d.concurrency ?? DEFAULT_CONCURRENCY,
      (m) => this.connectMember(network, m, o),
    );
    return settled.flatMap((r, i) =>
      r.status === "rejected" ? [{ runtime: members[i]!.runtime, error: msg(r.reason) }] : []
    );
  }

  /** Re-creates every MACVLAN network of a stopped runtime and connects it again: after a daemon
   * restart Docker sometimes cannot restore a MACVLAN network from its state ("Could not create
   * macvlan network ... from persistent state"), and the runtime cannot start. */
  async rebuildMacvlans(runtime: string, o: CallOptions): Promise<void> {
    const d = this.#d;
    for (const v of d.desired.get(runtime)?.vnics ?? []) {
      const name = v.docker_network_name;
      if (!name) continue;
      const net = await d.docker.inspectNetwork(name, o);
      const subnet = net?.subnets[0]?.subnet ?? v.parent_subnet;
      if (!subnet) continue;
      await this.#parents.run(v.parent_interface, async () => {
        await d.docker.disconnectNetwork(name, runtime, true, o).catch(() => {});
        if (net) await removeNetwork(d.docker, name, () => true, o);
        const gateway = net?.subnets[0]?.gateway ?? v.parent_gateway ?? null;
        await this.ensureNetwork({
          name,
          parent: v.parent_interface,
          subnet,
          gateway,
          exists: false,
        }, o);
        await d.docker.connectNetwork(name, runtime, {
          network: name,
          ...(v.network_mode === "manual" && v.ip_address ? { ipv4: v.ip_address } : {}),
        }, o);
      });
      d.log.warn("MACVLAN network rebuilt after Docker lost it", { runtime, network: name });
    }
  }

  /** Puts every vNIC's persisted MAC back inside a running runtime. */
  async restoreMacs(runtime: string, o: CallOptions): Promise<Failures> {
    const d = this.#d;
    const info = await d.docker.inspectContainer(runtime, o);
    const failures: Failures = [];
    for (const v of d.desired.get(runtime)?.vnics ?? []) {
      const endpoint = v.docker_network_name ? info?.networks[v.docker_network_name] : undefined;
      if (!info || info.pid <= 0 || !endpoint?.mac) continue;
      await restoreMac(d.ns, info.pid, endpoint.mac, v.mac_address).catch((err) =>
        failures.push({ runtime, error: msg(err) })
      );
    }
    return failures;
  }

  /** Removes a container and waits until the engine no longer lists it (a removal still in
   * progress makes a create of the same name fail with "removal ... already in progress"). */
  async removeContainer(name: string, o: CallOptions): Promise<void> {
    await this.#d.docker.removeContainer(name, true, o);
    for (let i = 0; i < 50 && (await this.#d.docker.inspectContainer(name, o)); i++) {
      // 50 x 100 ms: a forced removal takes tens of milliseconds; 5 s means something is stuck.
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get deps(): ExecutorDeps {
    return this.#d;
  }

  get parents(): KeyedMutex {
    return this.#parents;
  }

  get pool(): KeyedMutex {
    return this.#pool;
  }

  get pulls(): Pulls {
    return this.#pulls;
  }
}

type Failures = StepResult["failures"];
type Result = Failures | "wait";

type Effects = {
  [K in Step["kind"]]: (
    x: Executor,
    step: Extract<Step, { kind: K }>,
    o: CallOptions,
  ) => Promise<Result>;
};

const effects: Effects = {
  async adopt(x, s) {
    await x.deps.desired.put(s.desired);
    x.deps.log.warn(
      "Runtime of ours in no desired state adopted, kept as it is (only a delete removes it): " +
        "vNICs rebuilt from container labels",
      { runtime: s.runtime, running: s.desired.running, vnics: s.desired.vnics.length },
    );
    return [];
  },
  pull_image(x, s) {
    const state = x.pulls.ensure(
      s.image,
      (p) =>
        x.deps.progress.step(s.runtime, "pulling_image", `Pulling ${s.image}: ${p.status}`, p.pct),
    );
    if (state.kind === "failed") return Promise.reject(new Error(state.error));
    if (state.kind === "running") {
      x.deps.progress.step(s.runtime, "pulling_image", `Pulling ${s.image}`);
      return Promise.resolve("wait");
    }
    return Promise.resolve([]);
  },
  async probe_address(x, s) {
    // A probe that cannot run (no busybox, the parent down) does not block the create: the
    // guard is best effort, and says so.
    const r = await x.deps.probe?.(s.parent, s.ip).catch((err) => {
      x.deps.log.warn("ARP probe not possible: address brought up unprobed", {
        runtime: s.runtime,
        ip: s.ip,
        error: err instanceof Error ? err.message : String(err),
      });
      return null;
    });
    if (r?.taken) {
      throw new Error(
        `vnic_configs[${s.vnic}].ip_address: ${s.ip} is already used on the LAN of "${s.parent}" ` +
          `by the host with MAC ${r.mac} (it answered an ARP probe): not brought up`,
      );
    }
    return [];
  },
  async create_internal_network(x, s, o) {
    x.deps.progress.step(s.runtime, "creating_networks", `Creating networks of ${s.runtime}`);
    await x.pool.run(
      "pool",
      () => createInternalNetwork(x.deps.docker, internalSpec(s.runtime, x.deps.labels), o),
    );
    return [];
  },
  async ensure_macvlan(x, s, o) {
    x.deps.progress.step(s.runtime, "creating_networks", `Creating networks of ${s.runtime}`);
    const parent = s.network.options.parent ?? "";
    const name = await x.parents.run(
      parent,
      () => getOrCreateMacvlan(x.deps.docker, s.network, o),
    );
    if (name !== s.network.name) {
      x.deps.log.warn(
        `Network overlap detected for subnet ${s.network.subnets[0]?.subnet}: network "${name}" ` +
          `of parent "${parent}" serves it`,
      );
      throw new Error(
        `The LAN of parent "${parent}" is served by network "${name}" since this pass was planned`,
      );
    }
    return [];
  },
  async create_container(x, s, o) {
    const d = x.deps;
    d.progress.step(s.runtime, "creating_container", `Creating container ${s.runtime}`);
    const warnings: string[] = [];
    const spec = { ...s.spec };
    if (x.engine.ulimitsRefused) {
      spec.ulimits = [];
      warnings.push(ULIMIT_WARNING);
    }
    const facts = await x.engineFacts(o);
    if (!facts.macsAtCreate) {
      warnings.push(
        `Docker API ${x.engine.apiVersion} < 1.44: MAC addresses of vNICs are put back inside ` +
          `the runtime after attaching`,
      );
    }
    try {
      await d.docker.createContainer(spec, o);
    } catch (err) {
      if (err instanceof DockerError && err.statusCode === 409) {
        throw new Error(
          `Cannot create runtime "${s.runtime}": a container with that name already exists and ` +
            `is not managed by this agent`,
        );
      }
      throw err;
    }
    if (warnings.length) x.warnings.set(s.runtime, warnings);
    else x.warnings.delete(s.runtime);
    await d.desired.update(s.runtime, (rt) => ({
      ...rt,
      vnics: rt.vnics.map((v, i) => ({ ...v, docker_network_name: s.networks[i] ?? "" })),
    }));
    return [];
  },
  async connect_internal(x, s, o) {
    await x.deps.docker.connectNetwork(internalNetworkName(s.runtime), s.runtime, undefined, o);
    return [];
  },
  async start(x, s, o) {
    const d = x.deps;
    d.progress.step(s.runtime, "starting_container", `Starting container ${s.runtime}`);
    await d.docker.setRestartPolicy?.(s.runtime, "always", o);
    try {
      await d.docker.startContainer(s.runtime, o);
    } catch (err) {
      if (/network id .* not found|failed to create endpoint/i.test(msg(err))) {
        await x.rebuildMacvlans(s.runtime, o);
        await d.docker.startContainer(s.runtime, o);
        return await x.restoreMacs(s.runtime, o);
      }
      // Raising rtprio/memlock needs CAP_SYS_RESOURCE in the engine; without it (some VMs and
      // nested setups) runc refuses. Run without them rather than not at all, and say so: the
      // container is removed (and its removal awaited), and the next pass re-creates it.
      if (!/setting rlimit/i.test(msg(err))) throw err;
      d.log.warn(ULIMIT_WARNING, { runtime: s.runtime, error: msg(err) });
      x.engine.ulimitsRefused = true;
      await x.removeContainer(s.runtime, o);
      d.trigger(`re-create ${s.runtime} without ulimits`);
      return "wait";
    }
    return [];
  },
  async stop(x, s, o) {
    const d = x.deps;
    d.progress.step(s.runtime, "stopping_container", `Stopping container ${s.runtime}`);
    // DHCPRELEASE while the interface still exists; the lease stays on file for the next start.
    await d.dhcp?.stop(s.runtime);
    x.dhcpKeys.delete(s.runtime);
    if (!s.removing) await d.docker.setRestartPolicy?.(s.runtime, "no", o);
    await d.docker.stopContainer(s.runtime, d.stopTimeoutS, o);
    return [];
  },
  async restart(x, s, o) {
    await x.deps.docker.restartContainer(s.runtime, x.deps.stopTimeoutS, o);
    x.deps.restarted?.(s.runtime);
    return [];
  },
  async settle(x, s, o) {
    const d = x.deps;
    const rt = d.desired.get(s.runtime);
    if (!rt) return [];
    const internal = internalNetworkName(s.runtime);
    if (d.selfContainer) {
      await d.docker.connectNetwork(internal, d.selfContainer, undefined, o).catch((err) => {
        // Already attached is what we want (403/409 by engine version).
        if (!/already exists|already attached|endpoint with name/i.test(msg(err))) throw err;
      });
    }
    const info = await d.docker.inspectContainer(s.runtime, o);
    const ip = info?.networks[internal]?.ipv4 ?? rt.internal_ip;
    const created = rt.phase === "creating";
    if (created || ip !== rt.internal_ip) {
      // A delete may have come meanwhile: its tombstone stays a tombstone.
      await d.desired.update(s.runtime, (cur) => ({
        ...cur,
        internal_ip: ip,
        phase: cur.phase === "deleting" ? "deleting" : "ready",
      }));
    }
    if (created) {
      d.progress.done(s.runtime);
      d.log.info("Runtime created", { runtime: s.runtime, internal_ip: ip });
    }
    return [];
  },
  async fail_create(x, s) {
    x.deps.log.error("Failed to create runtime container: removing what the create made", {
      runtime: s.runtime,
      error: s.error,
    });
    await x.deps.desired.patch(s.runtime, { phase: "deleting", error: s.error });
    return [];
  },
  async remove_container(x, s, o) {
    x.deps.progress.step(s.runtime, "stopping_container", `Removing container ${s.runtime}`);
    await x.deps.dhcp?.release(s.runtime);
    x.dhcpKeys.delete(s.runtime);
    await x.removeContainer(s.runtime, o);
    return [];
  },
  async forget(x, s) {
    const d = x.deps;
    const rt = d.desired.get(s.runtime);
    await d.desired.forget(s.runtime);
    x.forgetRuntime(s.runtime);
    d.onForget(s.runtime);
    if (rt?.error) d.progress.fail(s.runtime, rt.error);
    else {
      d.progress.done(s.runtime);
      d.log.info("Runtime deleted", { runtime: s.runtime });
    }
    return [];
  },
  async restore_mac(x, s, o) {
    const info = await x.deps.docker.inspectContainer(s.runtime, o);
    const endpoint = info?.networks[s.network];
    if (!info || info.pid <= 0 || !endpoint?.mac) return [];
    await restoreMac(x.deps.ns, info.pid, endpoint.mac, s.mac);
    x.verified.set(`${s.runtime}|${s.network}`, endpoint.mac);
    return [];
  },
  async dhcp_ensure(x, s, o) {
    const d = x.deps;
    if (!d.dhcp) return [];
    const rt = d.desired.get(s.runtime);
    const info = await d.docker.inspectContainer(s.runtime, o);
    if (!rt || !info?.running || info.pid <= 0) return [];
    const staticDns = [...new Set(rt.vnics.flatMap((v) => v.dns ?? []))];
    const results = await d.dhcp.ensure(
      s.runtime,
      info.pid,
      rt.vnics.filter((v) => v.network_mode === "dhcp").map((v) => ({
        name: v.name,
        mac: v.mac_address,
        hostname: s.runtime,
        ...(v.dns?.length ? { dns: v.dns } : {}),
        ...(v.dhcp_ip ? { requested_ip: v.dhcp_ip } : {}),
      })),
      { staticDns },
    );
    const failed = results.filter((r) => r.outcome === "failed");
    for (const r of results) {
      if (r.removed?.length) {
        d.log.debug("dhcp: Docker's IPAM address removed", {
          runtime: s.runtime,
          vnic: r.vnic,
          removed: r.removed.join(","),
        });
      }
    }
    if (failed.length) {
      // The supervisor retries on its own; the step is retried too until the key holds.
      return failed.map((r) => ({ runtime: s.runtime, error: `dhcp ${r.vnic}: ${r.error}` }));
    }
    x.dhcpKeys.set(s.runtime, s.key ?? dhcpKey(rt, info) ?? "");
    return [];
  },
  async dhcp_prune(x, s) {
    await x.deps.dhcp?.prune(s.keep);
    x.dhcpPruned = true;
    return [];
  },
  async remove_network(x, s, o) {
    const d = x.deps;
    const allowed = new Set(s.detach);
    d.progress.step(ORCHESTRATOR_DEVICE_ID, "cleaning_networks", "Removing networks");
    for (const r of s.detach) d.progress.step(r, "removing_networks", `Removing networks of ${r}`);
    const net = await d.docker.inspectNetwork(s.name, o);
    const parent = net?.driver === "macvlan" ? net.options.parent ?? "" : "";
    const removed = await x.parents.run(
      parent || `net:${s.name}`,
      () => removeNetwork(d.docker, s.name, (c) => allowed.has(c.name) || allowed.has(c.id), o),
    );
    if (removed) d.log.info("Network removed: no runtime uses it", { network: s.name });
    return [];
  },
  async remove_netmon(x, _s, o) {
    const d = x.deps;
    d.progress.step(ORCHESTRATOR_DEVICE_ID, "deleting_netmon", "Removing the netmon container");
    // The installer starts netmon before the device has an id: found by role alone.
    for (const c of await d.docker.listContainers(roleSelector("netmon"), o)) {
      await d.docker.removeContainer(c.name, true, o);
    }
    return [];
  },
  async remove_self(x, _s, o) {
    const d = x.deps;
    d.progress.step(ORCHESTRATOR_DEVICE_ID, "removing_self", "Removing the agent");
    d.log.warn("Self-destruct: removing the agent now");
    if (d.selfContainer) await d.docker.removeContainer(d.selfContainer, true, o);
    else d.exit(0);
    return [];
  },
  rewire_parent(x, s, o) {
    const d = x.deps;
    return x.parents.run(s.parent, async () => {
      const leaving = [...s.members, ...s.detach];
      const failures: Failures = [];
      const t0 = performance.now();
      const gone = await mapLimit(
        leaving,
        d.concurrency ?? DEFAULT_CONCURRENCY,
        (m) => d.docker.disconnectNetwork(s.from, m.runtime, true, o),
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
      // Their leases were of the old LAN (a rewire is a subnet change): lost from now on.
      for (const m of s.members) d.dhcp?.moved(m.runtime);
      if (!await removeNetwork(d.docker, s.from, () => false, o)) {
        throw new Error(
          `Cannot remove network "${s.from}": containers this agent does not move are attached`,
        );
      }
      const t1 = performance.now();
      const network = await x.ensureNetwork(s.to, o);
      const t2 = performance.now();
      const connected = await x.connectAll(network, s.members, o);
      const ms = (a: number, b: number) => Math.round(b - a);
      d.log.info("Network change detected: parent re-wired", {
        parent: s.parent,
        runtimes: s.members.length,
        leave_ms: ms(t0, t1),
        network_ms: ms(t1, t2),
        join_ms: ms(t2, performance.now()),
      });
      return [...failures, ...connected];
    });
  },
  attach(x, s, o) {
    return x.parents.run(s.to.parent, async () => {
      const network = await x.ensureNetwork(s.to, o);
      return x.connectAll(network, s.members, o);
    });
  },
  report() {
    return Promise.resolve([]);
  },
};
