/**
 * Removing shared MACVLAN networks safely: only ours (labelled), only when no container is
 * attached, no stored runtime lists it and no create in flight is about to use it. Runs under the
 * parent's lock, the same one get-or-create takes.
 *
 * @module
 */
import type { Core } from "./core.ts";
import { isManaged } from "./naming.ts";

/** Removes a MACVLAN network when nobody (but `leaving`) uses it; returns whether it did. */
export function releaseMacvlan(
  core: Core,
  network: string,
  parent: string,
  leaving: string,
): Promise<boolean> {
  return core.parents.run(parent, async () => {
    const info = await core.docker.inspectNetwork(network);
    if (!info || !isManaged(info.labels)) return false;
    if (info.containers.some((c) => c.name !== leaving)) return false;
    if ([...(core.pending.get(network) ?? [])].some((r) => r !== leaving)) return false;
    for (const [runtime, vnics] of Object.entries(core.vnics.all())) {
      if (runtime !== leaving && vnics.some((v) => v.docker_network_name === network)) return false;
    }
    await core.docker.removeNetwork(network);
    core.log.info("MACVLAN network removed: no runtime uses it", { network });
    return true;
  });
}
