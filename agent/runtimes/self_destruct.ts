/**
 * `delete_orchestrator`: remove every runtime and its networks, every network we made, the netmon
 * container, and finally the agent itself: its own container when containerised (Docker kills us
 * with it), otherwise exit. Progress is the operation of `__orchestrator__`.
 *
 * @module
 */
import { ORCHESTRATOR_DEVICE_ID } from "../../contracts/mod.ts";
import { errorText } from "./core.ts";
import { deleteRuntime } from "./delete_op.ts";
import type { RuntimeManager } from "./manager.ts";
import { roleSelector } from "./naming.ts";

/** Dependencies of the self-destruct. */
export interface SelfDestructDeps {
  /** The manager (its core holds Docker, stores and operation status). */
  runtimes: RuntimeManager;
  /** Ends the process when the agent runs on the host. */
  exit: (code: number) => void;
}

/** Starts the self-destruct in the background; false when one already runs. */
export function startSelfDestruct(deps: SelfDestructDeps): boolean {
  const core = deps.runtimes.core;
  const cur = core.ops.get(ORCHESTRATOR_DEVICE_ID);
  if (cur && cur.status !== "error") return false;
  core.ops.begin(
    ORCHESTRATOR_DEVICE_ID,
    "delete_orchestrator",
    "deleting_runtimes",
    "Removing every runtime",
  );
  run(deps).catch((err) => {
    core.log.error("Self-destruct failed", { error: errorText(err) });
    core.ops.fail(ORCHESTRATOR_DEVICE_ID, errorText(err));
  });
  return true;
}

async function run(deps: SelfDestructDeps): Promise<void> {
  const core = deps.runtimes.core;
  const id = ORCHESTRATOR_DEVICE_ID;
  const extra = core.config.extraLabels;
  await deps.runtimes.settle(); // let running creates/deletes finish first
  const labelled = await core.docker.listContainers({ ...extra, ...roleSelector("runtime") });
  const names = new Set([...core.registry.names(), ...labelled.map((c) => c.name)]);
  const failures: string[] = [];
  await Promise.all([...names].map(async (name) => {
    try {
      await deleteRuntime(core, name);
    } catch (err) {
      failures.push(`${name}: ${errorText(err)}`);
    }
  }));
  if (failures.length) throw new Error(`Cannot delete runtimes: ${failures.join("; ")}`);

  core.ops.step(id, "cleaning_networks", "Removing networks");
  for (const role of ["internal", "macvlan"] as const) {
    for (
      const n of await core.docker.listNetworks({ labels: { ...extra, ...roleSelector(role) } })
    ) {
      const self = core.config.selfContainer;
      const foreign = n.containers.filter((c) => c.id !== self);
      if (foreign.length) {
        core.log.warn("Network kept: containers we do not manage use it", {
          network: n.name,
          containers: foreign.map((c) => c.name).join(","),
        });
        continue;
      }
      if (self && n.containers.length) await core.docker.disconnectNetwork(n.name, self, true);
      await core.docker.removeNetwork(n.name);
    }
  }

  core.ops.step(id, "deleting_netmon", "Removing the netmon container");
  // The installer starts netmon before the device has an id: found by role alone.
  for (const c of await core.docker.listContainers(roleSelector("netmon"))) {
    await core.docker.removeContainer(c.name, true);
  }

  core.ops.step(id, "removing_self", "Removing the agent");
  core.log.warn("Self-destruct: removing the agent now");
  const self = core.config.selfContainer;
  if (self) await core.docker.removeContainer(self, true);
  else deps.exit(0);
}
