/**
 * Builds the observed state for the planner from Docker (our labelled runtime containers, every
 * MACVLAN network and our internal ones) and the interface cache. All or nothing: any failed
 * list or inspect rejects (a container missing from a partial picture would look absent, and the
 * planner would act on a runtime it merely did not see).
 *
 * @module
 */
import type { CallOptions, ContainerInfo, DockerPort } from "../docker/port.ts";
import { primarySubnet } from "../network/interface_cache.ts";
import type { InterfaceView } from "../runtimes/interface_view.ts";
import { inScope, isManaged, roleSelector } from "../runtimes/naming.ts";
import type { CrashGuard } from "./crash_guard.ts";
import { mapLimit } from "./lanes.ts";
import type { Observed, ParentState } from "./types.ts";

/** Inspects in flight at once: inspect is cheap, 16 keeps 50 runtimes to a few round trips. */
const INSPECT_CONCURRENCY = 16;

/** Reads everything the planner compares. */
export async function observe(
  docker: DockerPort,
  cache: InterfaceView,
  guard: CrashGuard,
  scope: Record<string, string> = {},
  now: () => number = Date.now,
  o?: CallOptions,
  byName: string[] = [],
): Promise<Observed> {
  const [summaries, macvlans, internals] = await Promise.all([
    docker.listContainers({ ...scope, ...roleSelector("runtime") }, o),
    docker.listNetworks({ driver: "macvlan" }, o),
    docker.listNetworks({ labels: { ...scope, ...roleSelector("internal") } }, o),
  ]);
  const inspected = await mapLimit(
    summaries,
    INSPECT_CONCURRENCY,
    (s) => docker.inspectContainer(s.name, o),
  );
  const containers: ContainerInfo[] = [];
  for (const r of inspected) {
    if (r.status === "rejected") throw r.reason; // incomplete: no plan on a partial picture
    if (r.value) containers.push(r.value); // null: removed between list and inspect
  }
  // Runtimes of the original agent carry none of our labels: looked up by name (only names from
  // its own files or already adopted from them), with their `<name>_internal` bridge.
  const named = byName.filter((n) => !containers.some((c) => c.name === n));
  const found = await mapLimit(named, INSPECT_CONCURRENCY, async (n) => ({
    c: await docker.inspectContainer(n, o),
    net: await docker.inspectNetwork(`${n}_internal`, o),
  }));
  const extraNets = [];
  for (const r of found) {
    if (r.status === "rejected") throw r.reason;
    const { c, net } = r.value;
    if (c && !isManaged(c.labels)) {
      containers.push(c);
      if (net && !internals.some((i) => i.name === net.name)) extraNets.push(net);
    }
  }
  const t = now();
  for (const c of containers) guard.observe(c.name, c.restartCount, t);
  return {
    containers,
    networks: [...macvlans, ...internals, ...extraNets],
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
