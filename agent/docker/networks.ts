/**
 * Everything the agent knows about Docker networks, in one place: their names, how their specs
 * are built, how an observed network is compared with a wanted one, get-or-create (Docker's 409
 * and "pool overlaps" both mean "it exists already": reuse it), the internal address pool, and
 * removal. Nothing else in the agent spells a network name or creates or removes a network.
 *
 * @module
 */
import { staleParent, staleParentAdvice } from "./stale_parent.ts";
import { INTERNAL_POOL, pickSubnet } from "./internal_pool.ts";
import { type CallOptions, DockerError, type DockerPort, type NetworkInfo } from "./port.ts";
import type { NetworkSpec } from "./port.ts";

/** The one label key prefix of the project (shared with naming.ts). */
const PREFIX = "io.edge-orchestrator";
const MANAGED = `${PREFIX}.managed`;
const ROLE = `${PREFIX}.role`;

/** `<name>_internal`: the runtime's private bridge to the agent. */
export function internalNetworkName(runtime: string): string {
  return `${runtime}_internal`;
}

/** `macvlan_<parent>_<subnet with / as _>`, e.g. `macvlan_eth0_192.168.1.0_24`. */
export function macvlanNetworkName(parent: string, subnet: string): string {
  return `macvlan_${parent}_${subnet.replace("/", "_")}`;
}

/** Whether a Docker network name is one of the kinds we create (for event filtering). */
export function isOurNetworkName(name: string): boolean {
  return name.startsWith("macvlan_") || name.endsWith("_internal");
}

/** Labels of a runtime's internal network. */
export function internalLabels(
  runtime: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...extra, [MANAGED]: "1", [ROLE]: "internal", [`${PREFIX}.runtime`]: runtime };
}

/** Labels of a shared MACVLAN network (no runtime: several may use it). */
export function macvlanLabels(
  parent: string,
  subnet: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...extra,
    [MANAGED]: "1",
    [ROLE]: "macvlan",
    [`${PREFIX}.parent`]: parent,
    [`${PREFIX}.subnet`]: subnet,
  };
}

/** The spec of a runtime's internal bridge (its subnet comes from the pool at creation). */
export function internalSpec(runtime: string, extra: Record<string, string> = {}): NetworkSpec {
  return {
    name: internalNetworkName(runtime),
    driver: "bridge",
    internal: true,
    options: {},
    subnets: [],
    labels: internalLabels(runtime, extra),
  };
}

/** The spec of the MACVLAN network of a parent LAN. */
export function macvlanSpec(
  parent: string,
  subnet: string,
  gateway: string | null,
  extra: Record<string, string> = {},
  name: string = macvlanNetworkName(parent, subnet),
): NetworkSpec {
  return {
    name,
    driver: "macvlan",
    internal: false,
    options: { parent },
    subnets: [{ subnet, ...(gateway ? { gateway } : {}) }],
    labels: macvlanLabels(parent, subnet, extra),
  };
}

/** Subnet of a network's first IPAM pool. */
export function subnetOf(n: NetworkInfo): string | undefined {
  return n.subnets[0]?.subnet;
}

/** The MACVLAN network on a parent (Docker allows at most one per parent). */
export function macvlanOn(
  networks: readonly NetworkInfo[],
  parent: string,
): NetworkInfo | undefined {
  return networks.find((n) => n.driver === "macvlan" && n.options.parent === parent);
}

/** Whether an observed network serves a wanted MACVLAN spec: same driver, parent and subnet
 * (name, labels, gateway and what Docker fills in are ignored: a network made by hand or by an
 * older agent for the same LAN is reused). */
export function servesSpec(n: NetworkInfo, spec: NetworkSpec): boolean {
  return n.driver === spec.driver && n.options.parent === spec.options.parent &&
    n.subnets.some((s) => s.subnet === spec.subnets[0]?.subnet);
}

/** Gets or creates a MACVLAN network; returns the name of the network that serves the spec (an
 * existing one of the same parent and subnet under another name is reused). Docker's stale
 * record of a removed network on the parent (moby/libnetwork#1743) becomes its advice. */
export async function getOrCreateMacvlan(
  docker: DockerPort,
  spec: NetworkSpec,
  o?: CallOptions,
): Promise<string> {
  try {
    await docker.createNetwork(spec, o);
    return spec.name;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const stale = staleParent(text);
    if (stale) throw new DockerError(staleParentAdvice(stale.parent, stale.holder), 409);
    const exists = err instanceof DockerError && err.statusCode === 409;
    if (!exists && !/overlap/i.test(text)) throw err;
    const all = await docker.listNetworks({ driver: "macvlan", attachments: false }, o);
    const same = all.find((n) => n.name === spec.name || servesSpec(n, spec));
    if (same) return same.name;
    throw err;
  }
}

/** Tries before giving up when Docker says a picked internal subnet overlaps: another process (a
 * second agent, a test, a user) may allocate between our list and our create, and Docker's IPAM
 * can hold a pool a moment longer than the listing shows; 32 quick tries (a refused create costs
 * a few ms) cover any realistic burst and still fail fast when something is really wrong. */
const MAX_POOL_TRIES = 32;

/** Creates an internal network with a subnet from the agent's pool (the spec's subnets are
 * ignored); an existing network of that name is kept. The caller serialises calls (the executor
 * holds one lock for the pool), so two parallel creates never pick the same subnet. */
export async function createInternalNetwork(
  docker: DockerPort,
  spec: NetworkSpec,
  o?: CallOptions,
): Promise<void> {
  const refused: string[] = [];
  for (let i = 0; i < MAX_POOL_TRIES; i++) {
    const used = (await docker.listNetworks({ attachments: false }, o)).flatMap((n) =>
      n.name === spec.name ? [] : n.subnets.map((s) => s.subnet)
    );
    if ((await docker.inspectNetwork(spec.name, o)) !== null) return;
    const subnet = pickSubnet([...used, ...refused]);
    if (!subnet) {
      throw new RangeError(
        `Cannot create network "${spec.name}": the internal pool ${INTERNAL_POOL} is full`,
      );
    }
    try {
      await docker.createNetwork({ ...spec, subnets: [{ subnet }] }, o);
      return;
    } catch (err) {
      if (err instanceof DockerError && err.statusCode === 409) return; // made meanwhile
      if (!/overlap/i.test((err as Error).message)) throw err;
      refused.push(subnet);
    }
  }
  throw new RangeError(
    `Cannot create network "${spec.name}": ${MAX_POOL_TRIES} subnets of ${INTERNAL_POOL} were taken concurrently`,
  );
}

/** Removes a network. `detach`: containers allowed to be attached (they are disconnected first,
 * e.g. the agent's own container on an internal bridge, or the runtime being deleted); any other
 * attached container keeps the network (returns false). A missing network is already removed. */
export async function removeNetwork(
  docker: DockerPort,
  name: string,
  detach: (container: { id: string; name: string }) => boolean,
  o?: CallOptions,
): Promise<boolean> {
  const net = await docker.inspectNetwork(name, o);
  if (!net) return true;
  if (net.containers.some((c) => !detach(c))) return false;
  for (const c of net.containers) {
    await docker.disconnectNetwork(name, c.id, true, o).catch((err) => {
      if (!(err instanceof DockerError && err.statusCode === 404)) throw err;
    });
  }
  await docker.removeNetwork(name, o);
  return true;
}
