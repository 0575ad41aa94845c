/**
 * Pure parsing of what `ip -o link` and `ip -o -4 addr` print inside a runtime's namespace
 * (busybox and iproute2 print the same one-line format), and finding a vNIC's interface by MAC.
 *
 * @module
 */
import type { IfAddr } from "./lease.ts";
import { isIpv4 } from "./lease.ts";

/** One link of a namespace with its IPv4 addresses. */
export interface NsLink {
  index: number;
  name: string;
  mac: string;
  addrs: IfAddr[];
}

/** The separator the inspect command prints between the two listings. */
export const LISTING_SEPARATOR = "---";

/** The shell snippet (run by busybox sh) whose output {@linkcode parseListing} reads. */
export function listingScript(busybox: string): string {
  return `"${busybox}" ip -o link; echo ${LISTING_SEPARATOR}; "${busybox}" ip -o -4 addr`;
}

/** Parses `ip -o link`, a separator line, then `ip -o -4 addr`. Pure; ignores other lines. */
export function parseListing(text: string): NsLink[] {
  const [linkPart = "", addrPart = ""] = text.split(`\n${LISTING_SEPARATOR}\n`);
  const links = new Map<number, NsLink>();
  for (const line of linkPart.split("\n")) {
    const m = /^(\d+): ([^:@\s]+)[^:]*:.*link\/ether ([0-9a-fA-F:]{17})/.exec(line);
    if (m) {
      links.set(Number(m[1]), {
        index: Number(m[1]),
        name: m[2]!,
        mac: m[3]!.toLowerCase(),
        addrs: [],
      });
    }
  }
  for (const line of addrPart.split("\n")) {
    const m = /^(\d+): (\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (!m || !isIpv4(m[3]!)) continue;
    links.get(Number(m[1]))?.addrs.push({ ip: m[3]!, prefix: Number(m[4]) });
  }
  return [...links.values()];
}

/** The link carrying `mac` (case-insensitive), or null. Pure. */
export function linkByMac(links: NsLink[], mac: string): NsLink | null {
  return links.find((l) => l.mac === mac.toLowerCase()) ?? null;
}
