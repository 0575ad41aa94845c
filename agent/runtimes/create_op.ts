/**
 * The background part of `create_new_runtime`: validate and plan, pull, networks, container,
 * start, record. On any failure it rolls back exactly what this operation created (a MACVLAN
 * network only when no runtime uses or is about to use it) and leaves the precise error in the
 * operation status.
 *
 * @module
 */
import type { CreateNewRuntime } from "../../contracts/mod.ts";
import { apiAtLeast, type NetworkInfo } from "../docker/port.ts";
import { staleParent, staleParentAdvice } from "../docker/stale_parent.ts";
import { createInternalNetwork } from "./internal_pool.ts";
import { type Core, errorText, imageFor } from "./core.ts";
import { generateMac } from "./mac.ts";
import { isManaged } from "./naming.ts";
import { type CreatePlan, planCreate } from "./plan_create.ts";
import { releaseMacvlan } from "./networks.ts";

/** Shown when the engine cannot raise the real-time limits the runtime asks for. */
export const ULIMIT_WARNING =
  "ulimits rtprio=99 and memlock=unlimited not applied: the Docker engine may not raise them " +
  "(it lacks CAP_SYS_RESOURCE); real-time scheduling is limited";

/** What this operation created, for the rollback. */
interface Created {
  internal?: string;
  macvlans: { name: string; parent: string }[];
  container?: string;
  selfJoined?: string;
  /** MACVLAN names marked in `core.pending` for this runtime. */
  marked: string[];
  /** Whether this operation wrote the runtime's first registry and vNIC entries. */
  recorded?: boolean;
}

async function pull(core: Core, name: string, image: string): Promise<void> {
  core.ops.step(name, "pulling_image", `Pulling ${image}`, 0);
  let layers = 0;
  let done = 0;
  try {
    await core.docker.pullImage(image, (p) => {
      if (p.status === "Pulling fs layer") layers++;
      if (p.status === "Pull complete" || p.status === "Already exists") done++;
      const pct = layers ? Math.min(100, Math.round((done / layers) * 100)) : undefined;
      core.ops.step(name, "pulling_image", `Pulling ${image}: ${p.status}`, pct);
    });
  } catch (err) {
    if (await core.docker.imageExists(image)) {
      core.log.info("Image pull failed, using the local image", { image, error: errorText(err) });
      return;
    }
    throw new Error(
      `Image "${image}" could not be pulled (${errorText(err)}) and is not present locally`,
    );
  }
}

function mark(core: Core, network: string, runtime: string, created: Created): void {
  const users = core.pending.get(network) ?? new Set<string>();
  users.add(runtime);
  core.pending.set(network, users);
  created.marked.push(network);
}

async function ensureMacvlans(core: Core, name: string, plan: CreatePlan, created: Created) {
  for (const target of plan.macvlans) {
    const parent = target.spec.options.parent!;
    const netName = target.spec.name;
    // Mark the network as about to be used before looking, so a concurrent rollback keeps it.
    mark(core, netName, name, created);
    await core.parents.run(parent, async () => {
      if (await core.docker.inspectNetwork(netName)) return;
      try {
        await core.docker.createNetwork(target.spec);
        created.macvlans.push({ name: netName, parent });
      } catch (err) {
        const stale = staleParent(errorText(err));
        if (stale) throw new Error(staleParentAdvice(stale.parent, stale.holder));
        // Pool overlap: someone made a network for this parent/subnet meanwhile under another name.
        if (!/overlap/i.test(errorText(err))) throw err;
        const all = await core.docker.listNetworks({ driver: "macvlan" });
        const same = all.find((n) =>
          n.options.parent === parent &&
          n.subnets.some((s) => s.subnet === target.spec.subnets[0]?.subnet)
        );
        if (!same) throw err;
        mark(core, same.name, name, created);
        target.spec = { ...target.spec, name: same.name };
      }
    });
  }
}

async function rollback(core: Core, name: string, created: Created): Promise<void> {
  const tryDo = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      core.log.error("Rollback step failed", { runtime: name, what, error: errorText(err) });
    }
  };
  if (created.container) {
    await tryDo("remove container", () => core.docker.removeContainer(name, true));
  }
  if (created.selfJoined && core.config.selfContainer) {
    const self = core.config.selfContainer;
    await tryDo(
      "disconnect agent",
      () => core.docker.disconnectNetwork(created.selfJoined!, self, true),
    );
  }
  if (created.internal) {
    await tryDo("remove internal network", () => core.docker.removeNetwork(created.internal!));
  }
  for (const m of created.macvlans) {
    await tryDo("remove macvlan network", () => releaseMacvlan(core, m.name, m.parent, name));
  }
  if (created.recorded) {
    await tryDo("forget the runtime", async () => {
      await core.registry.delete(name);
      await core.vnics.delete(name);
    });
  }
}

/** Runs the create in the background; never throws (the outcome is in `core.ops`). */
export async function runCreate(core: Core, msg: CreateNewRuntime): Promise<void> {
  const name = msg.container_name;
  const created: Created = { macvlans: [], marked: [] };
  let plan: CreatePlan;
  try {
    const existing = await core.docker.inspectContainer(name);
    if (existing) {
      throw new Error(
        `Cannot create runtime "${name}": a container with that name already exists` +
          (isManaged(existing.labels) ? "" : " and is not managed by edge-orchestrator"),
      );
    }
    const macvlans: NetworkInfo[] = msg.vnic_configs.length
      ? await core.docker.listNetworks({ driver: "macvlan" })
      : [];
    const image = imageFor(core.config.runtimeImage, msg.runtime_version);
    plan = planCreate(msg, {
      image,
      extraLabels: core.config.extraLabels,
      stored: core.vnics.all(),
      macvlans,
      view: core.view,
      newMac: (used) => generateMac(core.random, used),
    });
    // Record the intent before touching Docker, so that an agent killed from here on finishes
    // the create at its next start (the reconciler re-creates from these entries, with the same
    // MACs) instead of losing an acked create silently. A re-create keeps its existing entries.
    if (!core.registry.get(name)) {
      created.recorded = true;
      await core.vnics.set(name, plan.vnics);
      await core.registry.set(name, { internal_ip: null, desired: "running", image });
    }
    await pull(core, name, image);

    core.ops.step(name, "creating_networks", `Creating networks of ${name}`);
    await createInternalNetwork(core.docker, core.parents, plan.internal);
    created.internal = plan.internal.name;
    await ensureMacvlans(core, name, plan, created);
    if (core.config.selfContainer) {
      await core.docker.connectNetwork(plan.internal.name, core.config.selfContainer);
      created.selfJoined = plan.internal.name;
    }

    core.ops.step(name, "creating_container", `Creating container ${name}`);
    core.apiVersion ??= (await core.docker.version()).apiVersion;
    const allAtCreate = apiAtLeast(core.apiVersion, 1, 44);
    const endpoints = plan.container.endpoints.map((e, i) =>
      i === 0 ? e : { ...e, network: plan.macvlans[i - 1]!.spec.name }
    );
    plan.vnics.forEach((v, i) => (v.docker_network_name = plan.macvlans[i]!.spec.name));
    const warnings: string[] = [];
    const spec = { ...plan.container, endpoints: allAtCreate ? endpoints : endpoints.slice(0, 1) };
    if (core.ulimitsRefused) {
      spec.ulimits = [];
      warnings.push(ULIMIT_WARNING);
    }
    await core.docker.createContainer(spec);
    created.container = name;
    if (!allAtCreate) {
      core.log.warn(
        "Docker API < 1.44: MAC addresses of MACVLAN endpoints cannot be honoured (Docker ignores " +
          "a MAC on connect); the runtime gets MACs derived from its IPs",
        { runtime: name, api: core.apiVersion },
      );
      for (const e of endpoints.slice(1)) await core.docker.connectNetwork(e.network, name, e);
      warnings.push(`Docker API ${core.apiVersion} < 1.44: MAC addresses of vNICs not honoured`);
    }

    core.ops.step(name, "starting_container", `Starting container ${name}`);
    try {
      await core.docker.startContainer(name);
    } catch (err) {
      // Raising rtprio/memlock needs CAP_SYS_RESOURCE in the engine; without it (some VMs and
      // nested setups) runc refuses. Run without them rather than not at all, and say so.
      if (!/setting rlimit/i.test(errorText(err)) || spec.ulimits.length === 0 || !allAtCreate) {
        throw err;
      }
      core.log.warn(ULIMIT_WARNING, { runtime: name, error: errorText(err) });
      core.ulimitsRefused = true;
      warnings.push(ULIMIT_WARNING);
      await core.docker.removeContainer(name, true);
      await core.docker.createContainer({ ...spec, ulimits: [] });
      await core.docker.startContainer(name);
    }
    const info = await core.docker.inspectContainer(name);
    const internalIp = info?.networks[plan.internal.name]?.ipv4 ?? null;
    await core.vnics.set(name, plan.vnics);
    await core.registry.set(name, { internal_ip: internalIp, desired: "running", image });
    if (warnings.length) core.warnings.set(name, warnings);
    else core.warnings.delete(name);
    core.ops.clear(name);
    core.log.info("Runtime created", { runtime: name, internal_ip: internalIp });
  } catch (err) {
    const error = errorText(err);
    core.log.error("Runtime creation failed, rolling back", { runtime: name, error });
    await rollback(core, name, created);
    core.ops.fail(name, error);
  } finally {
    for (const n of created.marked) {
      core.pending.get(n)?.delete(name);
      if (core.pending.get(n)?.size === 0) core.pending.delete(n);
    }
  }
}
