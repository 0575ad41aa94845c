/**
 * Pure model: from a netlink dump to the interfaces netmon publishes (protocol.md §6), and the
 * filtering rules. No I/O: whether a link is wireless is asked through an injected function.
 *
 * @module
 */
import type { NetmonAddress, NetmonInterface } from "../contracts/mod.ts";
import { subnetOf } from "./ipv4_net.ts";
import * as C from "./netlink_constants.ts";
import type { NetlinkDump } from "./netlink_client.ts";
import type { LinkMessage } from "./netlink_parser.ts";

/**
 * Name prefixes of virtual links that are never published: protocol.md §6's (docker, br-, veth,
 * virbr) and the rest of the original netmon's SKIP list (reference §9.2: VPN, overlay and CNI
 * links, macvtap, sit and CAN), so both netmons publish the same names.
 */
export const EXCLUDED_PREFIXES = [
  "docker",
  "br-",
  "veth",
  "virbr",
  "tailscale",
  "zt",
  "cni",
  "flannel",
  "kube-ipvs",
  "wg",
  "cilium",
  "macvtap",
  "sit",
  "can",
] as const;

/** Decides whether a link is wireless (the composition root checks sysfs). */
export type WirelessProbe = (name: string, link: LinkMessage) => boolean;

/**
 * Name heuristic for when sysfs cannot tell (e.g. sysfs not mounted for this namespace): the
 * kernel's `wlan0` and systemd's predictable `wlp2s0` / `wlx...` all start with "wl".
 */
export function looksWireless(name: string, link: LinkMessage): boolean {
  return link.wirelessAttr || name.startsWith("wl");
}

/**
 * UP as published: operstate UP, or operstate UNKNOWN with IFF_UP and IFF_LOWER_UP (drivers that
 * never report operstate, e.g. some USB and tun devices, sit in UNKNOWN while working).
 */
export function isUp(link: LinkMessage): boolean {
  if (link.operstate === C.IF_OPER_UP) return true;
  const flags = C.IFF_UP | C.IFF_LOWER_UP;
  return (link.operstate ?? C.IF_OPER_UNKNOWN) === C.IF_OPER_UNKNOWN &&
    (link.flags & flags) === flags;
}

/** Whether a link's name is one netmon never publishes. */
export function isExcludedName(name: string): boolean {
  return name === "lo" || EXCLUDED_PREFIXES.some((p) => name.startsWith(p));
}

/** Whether a link is published at all: not excluded, not loopback, and UP. */
export function isPublishable(link: LinkMessage): boolean {
  return link.name !== undefined && !isExcludedName(link.name) &&
    (link.flags & C.IFF_LOOPBACK) === 0 && isUp(link);
}

/** The published picture: interfaces by name, plus every link name present (up or not). */
export interface Snapshot {
  interfaces: Map<string, NetmonInterface>;
  linkNames: Set<string>;
}

/** Gateway of the default route (dst len 0, main table) through `index`; lowest metric wins. */
function gatewayOf(dump: NetlinkDump, index: number): string | null {
  let best: { gw: string; metric: number } | null = null;
  for (const r of dump.routes) {
    if (r.op !== "new" || r.dstLen !== 0 || r.table !== C.RT_TABLE_MAIN) continue;
    for (const hop of r.nexthops) {
      if (hop.ifindex !== index || hop.gateway === undefined) continue;
      const metric = r.priority ?? 0;
      if (!best || metric < best.metric) best = { gw: hop.gateway, metric };
    }
  }
  return best?.gw ?? null;
}

function addressesOf(dump: NetlinkDump, index: number): NetmonAddress[] {
  const out: NetmonAddress[] = [];
  for (const a of dump.addrs) {
    if (a.op !== "new" || a.index !== index || a.address === undefined) continue;
    const { subnet, network } = subnetOf(a.address, a.prefixlen);
    out.push({ address: a.address, prefixlen: a.prefixlen, subnet, network_address: network });
  }
  return out; // kernel order: the primary address of each subnet before its secondaries
}

/** Builds the snapshot of a dump. `timestamp` stamps every interface. */
export function buildSnapshot(
  dump: NetlinkDump,
  wireless: WirelessProbe,
  timestamp: string,
): Snapshot {
  const interfaces = new Map<string, NetmonInterface>();
  const linkNames = new Set<string>();
  for (const link of dump.links) {
    if (link.op !== "new" || link.name === undefined) continue;
    linkNames.add(link.name);
    if (!isPublishable(link)) continue;
    interfaces.set(link.name, {
      interface: link.name,
      index: link.index,
      operstate: "UP",
      type: wireless(link.name, link) ? "wifi" : "ethernet",
      mac_address: link.mac ?? "",
      ipv4_addresses: addressesOf(dump, link.index),
      gateway: gatewayOf(dump, link.index),
      timestamp,
    });
  }
  return { interfaces: new Map([...interfaces].sort(([a], [b]) => a < b ? -1 : 1)), linkNames };
}
