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

/**
 * The shell snippet (busybox sh, run in a runtime's namespace, pids as arguments) whose output
 * {@linkcode parseInspect} reads: links, addresses, the namespace's identity, and for each pid
 * given, whether it lives, its namespace and command line. /proc is read by the shell because
 * Deno grants /proc/<pid> only with --allow-all.
 */
export function inspectScript(busybox: string): string {
  const bb = `"${busybox}"`;
  return [
    `${bb} ip -o link; echo ${LISTING_SEPARATOR}; ${bb} ip -o -4 addr; echo ${LISTING_SEPARATOR}`,
    `${bb} readlink /proc/self/ns/net; echo ${LISTING_SEPARATOR}`,
    `for p in "$@"; do n=$(${bb} readlink /proc/$p/ns/net 2>/dev/null) &&` +
    ` c=$(${bb} tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null) && echo "$p|$n|$c"; done; true`,
  ].join("\n");
}

/** A process seen by the inspect script. */
export interface ProcFacts {
  netns: string;
  cmdline: string;
}

/** What {@linkcode inspectScript} printed. */
export interface Inspection {
  links: NsLink[];
  /** `net:[inode]` of the namespace inspected. */
  netns: string;
  procs: Map<number, ProcFacts>;
}

/** Parses {@linkcode inspectScript}'s output. Pure. */
export function parseInspect(text: string): Inspection {
  const parts = text.split(`\n${LISTING_SEPARATOR}\n`);
  const procs = new Map<number, ProcFacts>();
  for (const line of (parts[3] ?? "").split("\n")) {
    const m = /^(\d+)\|(net:\[\d+\])\|(.*)$/.exec(line);
    if (m) procs.set(Number(m[1]), { netns: m[2]!, cmdline: m[3]!.trim() });
  }
  return {
    links: parseListing(`${parts[0] ?? ""}\n${LISTING_SEPARATOR}\n${parts[1] ?? ""}`),
    netns: (parts[2] ?? "").trim(),
    procs,
  };
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
