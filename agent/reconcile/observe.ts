/**
 * Builds the observed state for the planner from Docker (our labelled runtime containers, every
 * MACVLAN network and our internal networks) and the interface cache.
 *
 * @module
 */
import type { DockerPort } from "../docker/port.ts";
import type { InterfaceCache } from "../network/interface_cache.ts";
import { primarySubnet } from "../network/interface_cache.ts";
import { inScope, isManaged, roleSelector } from "../runtimes/naming.ts";
import type { CrashGuard } from "./crash_guard.ts";
import { mapLimit } from "./executor.ts";
import type { Observed, ParentState } from "./types.ts";

/** Inspects in flight at once: inspect is cheap, 16 keeps 50 runtimes to a few round trips. */
const INSPECT_CONCURRENCY = 16;

/** Reads everything the planner compares. */
export async function observe(
  docker: DockerPort,
  cache: InterfaceCache,
  guard: CrashGuard,
  scope: Record<string, string> = {},
  now: () => number = Date.now,
): Promise<Observed> {
  const [summaries, macvlans, internals] = await Promise.all([
    docker.listContainers({ ...scope, ...roleSelector("runtime") }),
    docker.listNetworks({ driver: "macvlan" }),
    docker.listNetworks({ labels: { ...scope, ...roleSelector("internal") } }),
  ]);
  const inspected = await mapLimit(
    summaries,
    INSPECT_CONCURRENCY,
    (s) => docker.inspectContainer(s.name),
  );
  const containers = inspected.flatMap((r) => r.status === "fulfilled" && r.value ? [r.value] : []);
  const t = now();
  for (const c of containers) guard.observe(c.name, c.restartCount, t);
  return {
    containers,
    networks: [...macvlans, ...internals],
    parents: {
      synced: cache.synced,
      get(name): ParentState {
        const iface = cache.get(name);
        if (!iface) return { state: cache.absence(name) };
        return { state: "up", subnet: primarySubnet(iface), gateway: iface.gateway };
      },
    },
    crashLooping: guard.tripped(),
    own: (labels) => isManaged(labels) && inScope(labels, scope),
  };
}
