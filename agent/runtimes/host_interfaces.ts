/**
 * `get_host_interfaces` (protocol.md §3): netmon's view merged with the system's own list, the
 * virtual ones (loopback, Docker bridges, veths) only on request, sorted by name. Pure.
 *
 * @module
 */
import { type NetmonInterface, networkOf } from "../../contracts/mod.ts";

/** One system interface address (the shape of `Deno.networkInterfaces()`). */
export interface SystemAddress {
  /** Interface name. */
  name: string;
  /** `IPv4` or `IPv6`. */
  family: string;
  /** Address. */
  address: string;
  /** CIDR of the address. */
  cidr: string;
  /** MAC. */
  mac: string;
}

/** One entry of the answer. */
export interface HostInterface {
  /** Name. */
  name: string;
  /** First IPv4 address. */
  ip_address: string | null;
  /** Every IPv4 address. */
  ipv4_addresses: string[];
  /** MAC. */
  mac_address: string | null;
  /** Subnet of the first address (detailed). */
  subnet?: string | null;
  /** Default gateway through it (detailed). */
  gateway?: string | null;
}

const VIRTUAL = /^(lo$|docker|br-|veth|virbr)/;

/** Builds the interface list. */
export function hostInterfaces(
  netmon: NetmonInterface[],
  system: SystemAddress[],
  opts: { include_virtual: boolean; detailed: boolean },
): HostInterface[] {
  const names = new Set([...netmon.map((i) => i.interface), ...system.map((a) => a.name)]);
  const out: HostInterface[] = [];
  for (const name of names) {
    if (!opts.include_virtual && VIRTUAL.test(name)) continue;
    const n = netmon.find((i) => i.interface === name);
    const sys = system.filter((a) => a.name === name && a.family === "IPv4");
    const addrs = n ? n.ipv4_addresses.map((a) => a.address) : sys.map((a) => a.address);
    const mac = n?.mac_address ?? system.find((a) => a.name === name)?.mac ?? null;
    const entry: HostInterface = {
      name,
      ip_address: addrs[0] ?? null,
      ipv4_addresses: addrs,
      mac_address: mac,
    };
    if (opts.detailed) {
      const first = sys[0];
      entry.subnet = n?.ipv4_addresses[0]?.subnet ??
        (first ? networkOf(first.address, Number(first.cidr.split("/")[1])) : null);
      entry.gateway = n?.gateway ?? null;
    }
    out.push(entry);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
