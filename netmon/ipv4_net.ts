/**
 * The one piece of IPv4 arithmetic netmon needs at run time. contracts/ipv4.ts has the same
 * function, but importing contracts at run time loads zod (about 17 MiB of RSS, measured), which
 * would put netmon over its 45 MB budget; netmon imports only types from contracts, and
 * `ipv4_net_test.ts` checks this function against contracts' `networkOf`.
 *
 * @module
 */

/** Network address and CIDR of a valid dotted IPv4 address and a prefix length 0-32. */
export function subnetOf(
  address: string,
  prefixlen: number,
): { subnet: string; network: string } {
  const value = address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
  const size = 2 ** (32 - prefixlen);
  const base = Math.floor(value / size) * size;
  const network = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
  return { subnet: `${network}/${prefixlen}`, network };
}
