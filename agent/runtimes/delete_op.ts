/**
 * The background part of `delete_device`: stop and remove the container, remove its internal
 * network (the agent leaves it first), remove MACVLAN networks no runtime uses any more, forget
 * its vNICs, registry entry and consumption buffers. Only objects labelled as ours are touched.
 *
 * @module
 */
import { type Core, errorText } from "./core.ts";
import { internalNetworkName, isManaged } from "./naming.ts";
import { releaseMacvlan } from "./networks.ts";

/** Runs the delete; never throws (the outcome is in `core.ops`). */
export async function runDelete(core: Core, name: string): Promise<void> {
  try {
    await deleteRuntime(core, name);
    core.ops.clear(name);
  } catch (err) {
    const error = errorText(err);
    core.log.error("Runtime deletion failed", { runtime: name, error });
    core.ops.fail(name, error);
  }
}

/** Deletes one runtime; throws on the first failing step (later steps can be retried). */
export async function deleteRuntime(core: Core, name: string): Promise<void> {
  core.ops.step(name, "stopping_container", `Stopping container ${name}`);
  // Persist the intent first: an agent killed mid-delete finishes the delete at its next start
  // instead of re-creating a runtime the cloud asked to remove.
  if (core.registry.get(name)) await core.registry.update(name, { deleting: true });
  const info = await core.docker.inspectContainer(name);
  if (info && !isManaged(info.labels)) {
    throw new Error(`Cannot delete "${name}": the container is not managed by edge-orchestrator`);
  }
  // MACVLAN networks of this runtime: from the store, and from Docker in case the store lost it.
  const macvlans = new Map<string, string>();
  for (const v of core.vnics.get(name) ?? []) {
    if (v.docker_network_name) macvlans.set(v.docker_network_name, v.parent_interface);
  }
  if (info) {
    await core.docker.stopContainer(name, core.config.stopTimeoutS);
    for (const net of Object.keys(info.networks)) {
      if (macvlans.has(net)) continue;
      const n = await core.docker.inspectNetwork(net);
      if (n?.driver === "macvlan" && n.options.parent) macvlans.set(net, n.options.parent);
    }
    await core.docker.removeContainer(name, true);
  }

  core.ops.step(name, "removing_networks", `Removing networks of ${name}`);
  const internal = internalNetworkName(name);
  const net = await core.docker.inspectNetwork(internal);
  if (net && isManaged(net.labels)) {
    for (const c of net.containers) {
      // The agent itself (when containerised) or anything else still attached: leave first.
      await core.docker.disconnectNetwork(internal, c.id, true);
    }
    await core.docker.removeNetwork(internal);
  }
  await core.vnics.delete(name);
  for (const [network, parent] of macvlans) await releaseMacvlan(core, network, parent, name);
  await core.registry.delete(name);
  core.sink.forget(name);
  core.warnings.delete(name);
  core.log.info("Runtime deleted", { runtime: name });
}
