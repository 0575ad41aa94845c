/**
 * One rule for a parent's LAN (subnet and gateway), used by the create validation and by the
 * planner alike, so a runtime is never created on one subnet and re-wired to another by the next
 * pass. Docker allows one MACVLAN network per parent, so the rule decides per parent:
 *
 * 1. the cloud's `parent_subnet` / `parent_gateway` when a vNIC on that parent gives them (the
 *    cloud knows the plant LAN; a host subnet change then does not move the parent);
 * 2. else the host's view from netmon (the LAN the wire is on right now: a subnet move on the
 *    host re-wires the parent);
 * 3. else, for a parent without a host IPv4 address (a NIC dedicated to the plant network), a
 *    manual vNIC's own `subnet` / `gateway`.
 *
 * 4. else, for a parent whose vNICs are all DHCP (no host address, nothing from the cloud): a
 *    placeholder link-local subnet `169.254.<n>.0/24`, `n` from the parent's name. Docker needs a
 *    subnet to create the MACVLAN network; a link-local one is never routed and is no LAN
 *    address, and the DHCP client removes Docker's address from it before its first DISCOVER, so
 *    the vNIC carries only what the plant's DHCP server leases.
 *
 * Host before the vNIC's own subnet (the issue listed them the other way round): with one network
 * per parent, a manual vNIC whose subnet differs from the host's LAN would otherwise pull every
 * DHCP runtime of the parent onto a LAN the wire is not on; instead that vNIC is detached and
 * reported (`ip_outside_subnet`), and nothing is invented. Pure.
 *
 * @module
 */
import { cidrContains, type VnicConfig } from "../../contracts/mod.ts";
import type { ParentState } from "./types.ts";

/** A parent's LAN and where it came from. */
export interface Lan {
  /** CIDR of the parent LAN. */
  subnet: string;
  /** Gateway inside it, when known. */
  gateway: string | null;
  /** Which rule gave it. */
  source: "cloud" | "host" | "vnic" | "placeholder";
}

const inside = (subnet: string, g: string | null | undefined) =>
  g && cidrContains(subnet, g) ? g : null;

/** The LAN of one parent from the vNICs that sit on it (in a stable order) and the host's view. */
export function parentLan(vnics: readonly VnicConfig[], host: ParentState): Lan | null {
  const hostGw = host.state === "up" ? host.gateway : null;
  const cloud = vnics.find((v) => v.parent_subnet);
  if (cloud?.parent_subnet) {
    const s = cloud.parent_subnet;
    return {
      subnet: s,
      gateway: inside(s, cloud.parent_gateway) ?? inside(s, hostGw) ?? inside(s, cloud.gateway),
      source: "cloud",
    };
  }
  if (host.state === "up" && host.subnet) {
    const own = vnics.find((v) => v.gateway && inside(host.subnet!, v.gateway));
    return {
      subnet: host.subnet,
      gateway: inside(host.subnet, hostGw) ?? own?.gateway ?? null,
      source: "host",
    };
  }
  const manual = vnics.find((v) => v.network_mode === "manual" && v.subnet);
  if (manual?.subnet) {
    return {
      subnet: manual.subnet,
      gateway: inside(manual.subnet, manual.gateway),
      source: "vnic",
    };
  }
  if (host.state === "up" && vnics.length > 0 && vnics.every((v) => v.network_mode === "dhcp")) {
    return {
      subnet: placeholderSubnet(vnics[0]!.parent_interface),
      gateway: null,
      source: "placeholder",
    };
  }
  return null;
}

/** `169.254.<1..254>.0/24` from a parent's name (stable: the same parent, the same network). */
export function placeholderSubnet(parent: string): string {
  let h = 0;
  for (const ch of parent) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `169.254.${1 + (h % 254)}.0/24`;
}

/** Every parent's LAN, from all desired vNICs (runtimes in name order) and the host's view. */
export function parentLans(
  vnicsByRuntime: readonly (readonly VnicConfig[])[],
  host: (parent: string) => ParentState,
): Map<string, Lan | null> {
  const byParent = new Map<string, VnicConfig[]>();
  for (const vnics of vnicsByRuntime) {
    for (const v of vnics) {
      byParent.set(v.parent_interface, [...(byParent.get(v.parent_interface) ?? []), v]);
    }
  }
  const out = new Map<string, Lan | null>();
  for (const [parent, vnics] of byParent) out.set(parent, parentLan(vnics, host(parent)));
  return out;
}
