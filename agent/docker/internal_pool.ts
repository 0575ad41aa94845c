/**
 * Subnets of the `<name>_internal` bridges. Docker's default address pools hold about 30 bridge
 * networks (172.17-31.0.0/16 and 192.168.0.0/16 in /20s), and every runtime has its own internal
 * bridge: the 31st runtime would fail with "could not find an available, non-overlapping IPv4
 * address pool". So the agent hands out small subnets itself from a pool of its own.
 *
 * `createInternalNetwork` in networks.ts allocates from it. /28 (16 addresses: network, bridge gateway, runtime, the agent's container, broadcast and room
 * to spare) from 172.30.240.0/20 gives 256 runtimes per box, far above what an edge box runs.
 * The range sits at the top of Docker's 172.16.0.0/12 default so it stays clear of plant LANs
 * (mostly 10/8 and 192.168/16) and Docker hands it out last; a network that already overlaps a
 * candidate is skipped. The pool is a constant here, on purpose: changing it under running
 * runtimes would gain nothing.
 *
 * @module
 */
import { intToIpv4, ipv4ToInt } from "../../contracts/mod.ts";

/** Pool and size of the internal subnets (see the module doc for the numbers). */
export const INTERNAL_POOL = "172.30.240.0/20";
/** Prefix length of one internal subnet. */
export const INTERNAL_PREFIX = 28;

function range(cidr: string): [number, number] {
  const [ip, len] = cidr.split("/");
  const size = 2 ** (32 - Number(len));
  const start = Math.floor(ipv4ToInt(ip!) / size) * size;
  return [start, start + size - 1];
}

/** First /`prefix` of `pool` overlapping none of `used` (CIDRs), or null when full. Pure. */
export function pickSubnet(
  used: readonly string[],
  pool: string = INTERNAL_POOL,
  prefix: number = INTERNAL_PREFIX,
): string | null {
  const taken = used.filter((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)).map(range);
  const [start, end] = range(pool);
  const size = 2 ** (32 - prefix);
  for (let a = start; a + size - 1 <= end; a += size) {
    const b = a + size - 1;
    if (!taken.some(([x, y]) => a <= y && x <= b)) return `${intToIpv4(a)}/${prefix}`;
  }
  return null;
}
