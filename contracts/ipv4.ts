/**
 * Small IPv4 helpers shared by the vNIC rules, netmon and the agent. Pure functions.
 *
 * @module
 */
import { IPV4_PATTERN } from "./_internal.ts";

/**
 * Converts a dotted IPv4 address to an unsigned 32-bit integer.
 *
 * @throws {TypeError} when the string is not an IPv4 address.
 * @example
 * ```ts
 * import { ipv4ToInt } from "@edge-orchestrator/contracts";
 * console.assert(ipv4ToInt("0.0.1.2") === 258);
 * ```
 */
export function ipv4ToInt(address: string): number {
  if (!IPV4_PATTERN.test(address)) throw new TypeError(`Not an IPv4 address: "${address}"`);
  return address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

/**
 * Converts an unsigned 32-bit integer to a dotted IPv4 address.
 *
 * @example
 * ```ts
 * import { intToIpv4 } from "@edge-orchestrator/contracts";
 * console.assert(intToIpv4(258) === "0.0.1.2");
 * ```
 */
export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/**
 * The network CIDR (`a.b.c.0/24`) of an address and prefix length.
 *
 * @example
 * ```ts
 * import { networkOf } from "@edge-orchestrator/contracts";
 * console.assert(networkOf("198.51.100.77", 24) === "198.51.100.0/24");
 * ```
 */
export function networkOf(address: string, prefixlen: number): string {
  if (!Number.isInteger(prefixlen) || prefixlen < 0 || prefixlen > 32) {
    throw new RangeError(`Invalid prefix length: ${prefixlen}`);
  }
  const size = 2 ** (32 - prefixlen);
  const base = Math.floor(ipv4ToInt(address) / size) * size;
  return `${intToIpv4(base)}/${prefixlen}`;
}

/**
 * Prefix length of a dotted netmask, or null when the mask is not contiguous.
 *
 * @example
 * ```ts
 * import { netmaskToPrefix } from "@edge-orchestrator/contracts";
 * console.assert(netmaskToPrefix("255.255.255.0") === 24);
 * console.assert(netmaskToPrefix("255.0.255.0") === null);
 * ```
 */
export function netmaskToPrefix(mask: string): number | null {
  const value = ipv4ToInt(mask);
  for (let len = 0; len <= 32; len++) {
    if (value === 2 ** 32 - 2 ** (32 - len)) return len;
  }
  return null;
}

/**
 * Whether an IPv4 address lies inside a CIDR.
 *
 * @example
 * ```ts
 * import { cidrContains } from "@edge-orchestrator/contracts";
 * console.assert(cidrContains("192.0.2.0/24", "192.0.2.9"));
 * console.assert(!cidrContains("192.0.2.0/24", "198.51.100.9"));
 * ```
 */
export function cidrContains(cidr: string, address: string): boolean {
  const [net, len] = cidr.split("/");
  const prefix = Number(len);
  return networkOf(address, prefix) === networkOf(net ?? "", prefix);
}
