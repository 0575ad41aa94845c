/**
 * Startup reconciliation of the registry and the vNIC store with Docker: entries come back from
 * the state files; what the files lack (lost or unreadable) is rebuilt from the runtime
 * containers' labels; entries whose container is gone are dropped; a runtime the cloud stopped
 * is stopped again (restart policy `always` restarts it with the daemon).
 *
 * @module
 */
import { StoredVnic } from "../../contracts/mod.ts";
import { type Core, errorText } from "./core.ts";
import { deleteRuntime } from "./delete_op.ts";
import { applyRestartPolicy } from "./restart_policy.ts";
import { internalNetworkName, LABELS, roleSelector } from "./naming.ts";

/** Reconciles the stores with Docker's labelled runtime containers. */
export async function rebuildFromDocker(core: Core): Promise<void> {
  const containers = await core.docker.listContainers(roleSelector("runtime"));
  const extra = core.config.extraLabels;
  const mine = containers.filter((c) => Object.entries(extra).every(([k, v]) => c.labels[k] === v));
  const present = new Set(mine.map((c) => c.name));
  for (const c of mine) {
    const name = c.name;
    if (!core.vnics.get(name)) {
      try {
        const raw = JSON.parse(c.labels[LABELS.vnics] ?? "[]");
        await core.vnics.set(name, (raw as unknown[]).map((v) => StoredVnic.parse(v)));
        core.log.info("vNICs rebuilt from container labels", { runtime: name });
      } catch (err) {
        core.log.error("Cannot rebuild vNICs from labels", {
          runtime: name,
          error: errorText(err),
        });
      }
    }
    if (!core.registry.get(name)) {
      const info = await core.docker.inspectContainer(name);
      await core.registry.set(name, {
        internal_ip: info?.networks[internalNetworkName(name)]?.ipv4 ?? null,
        // Restart policy is `always`: a runtime found stopped was stopped on purpose.
        desired: c.state === "running" ? "running" : "stopped",
        image: info?.image ?? "",
      });
      core.log.info("Registry entry rebuilt from Docker", { runtime: name });
    }
  }
  for (const name of core.registry.names()) {
    if (core.registry.get(name)?.deleting) {
      // A delete was interrupted (agent killed or crashed): finish it.
      core.log.warn("Finishing an interrupted delete", { runtime: name });
      try {
        await deleteRuntime(core, name);
      } catch (err) {
        core.log.error("Cannot finish the interrupted delete", {
          runtime: name,
          error: errorText(err),
        });
      }
      present.delete(name);
    } else if (!present.has(name)) {
      // Kept on purpose: the container was removed behind our back (by hand, or a lost Docker
      // state); the reconciler re-creates it from the persisted configuration.
      core.log.warn("Registered runtime has no container: it will be re-created", {
        runtime: name,
      });
    }
  }
  for (const c of mine.filter((c) => present.has(c.name))) {
    if (core.registry.get(c.name)?.desired === "stopped" && c.state === "running") {
      core.log.info("Stopping runtime the cloud stopped", { runtime: c.name });
      await applyRestartPolicy(core.docker, c.name, "stopped");
      await core.docker.stopContainer(c.name, core.config.stopTimeoutS);
    }
    if (c.state === "running" && core.registry.get(c.name)?.internal_ip === null) {
      const info = await core.docker.inspectContainer(c.name);
      const ip = info?.networks[internalNetworkName(c.name)]?.ipv4;
      if (ip) await core.registry.update(c.name, { internal_ip: ip });
    }
  }
}
