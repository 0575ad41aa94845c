/**
 * LAN guard rails, pure: a vNIC must not take the host's own address on its parent, nor the
 * gateway's, nor their MACs (issue 12). Inputs are the parent as netmon sees it and the host's
 * neighbour table (`/proc/1/net/arp` seen with pid=host, parsed by {@linkcode parseProcNetArp}).
 * Also the parser of busybox `arping -D` output used by the ARP probe.
 *
 * @module
 */
import { isIpv4 } from "./lease.ts";

/** One neighbour table entry. */
export interface Neighbour {
  ip: string;
  mac: string;
  device: string;
}

/** What the guard knows of the parent interface (a subset of netmon's interface view). */
export interface ParentView {
  interface: string;
  mac_address?: string;
  ipv4_addresses: { address: string }[];
  gateway: string | null;
}

/** The vNIC being checked. */
export interface GuardedVnic {
  /** Static address, with or without a prefix. */
  ip?: string;
  mac?: string;
  /** The gateway the vNIC (or the cloud's `parent_gateway`) names, if any. */
  gateway?: string | null;
}

/** Why a vNIC is refused. */
export type GuardCode = "ip_is_host" | "ip_is_gateway" | "mac_is_host" | "mac_is_gateway";

/** A refusal with a message for the ack. */
export interface GuardRefusal {
  code: GuardCode;
  message: string;
}

/**
 * Checks a vNIC against the host and the gateway on its parent; null when it may be created.
 * The gateway is the vNIC's own (or the cloud's), else netmon's default gateway on that parent;
 * its MAC comes from the neighbour table. `parent` may be null when netmon does not list it (then
 * only the neighbour table is used). Pure.
 */
export function checkVnicAgainstLan(
  vnic: GuardedVnic,
  parent: ParentView | null,
  neighbours: Neighbour[],
): GuardRefusal | null {
  const ip = vnic.ip?.split("/")[0];
  const mac = vnic.mac?.toLowerCase();
  const name = parent?.interface ?? "its parent";
  const hostIps = parent?.ipv4_addresses.map((a) => a.address) ?? [];
  const gateways = [vnic.gateway, parent?.gateway].filter((g): g is string =>
    typeof g === "string" && isIpv4(g)
  );
  if (ip && hostIps.includes(ip)) {
    return {
      code: "ip_is_host",
      message: `Cannot use IP ${ip}: it is the host's address on ${name}`,
    };
  }
  if (ip && gateways.includes(ip)) {
    return { code: "ip_is_gateway", message: `Cannot use IP ${ip}: it is the gateway of ${name}` };
  }
  if (mac && parent?.mac_address && parent.mac_address.toLowerCase() === mac) {
    return {
      code: "mac_is_host",
      message: `Cannot use MAC ${mac}: it is the host's MAC on ${name}`,
    };
  }
  const gatewayMacs = neighbours
    .filter((n) => gateways.includes(n.ip) && (!parent || n.device === parent.interface))
    .map((n) => n.mac.toLowerCase());
  if (mac && gatewayMacs.includes(mac)) {
    return {
      code: "mac_is_gateway",
      message: `Cannot use MAC ${mac}: it is the gateway's MAC on ${name}`,
    };
  }
  return null;
}

/**
 * Parses `/proc/net/arp` (header line, then `IP HWtype Flags HWaddress Mask Device`); skips
 * incomplete entries (flags 0x0, MAC all zero). Pure.
 */
export function parseProcNetArp(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [ip, , flags, mac, , device] = f as [string, string, string, string, string, string];
    if (!isIpv4(ip) || flags === "0x0" || mac === "00:00:00:00:00:00") continue;
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) continue;
    out.push({ ip, mac: mac.toLowerCase(), device });
  }
  return out;
}

/** The MAC in busybox arping's "Unicast reply from A [MAC] ..." line, or null. Pure. */
export function parseArpingReply(text: string): string | null {
  const m = /reply from \d+\.\d+\.\d+\.\d+ \[([0-9a-fA-F:]{17})\]/.exec(text);
  return m ? m[1]!.toLowerCase() : null;
}
