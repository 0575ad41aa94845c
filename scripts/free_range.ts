/**
 * Picks IPv4 ranges that the demo and the tests may put on the host's own network namespace.
 *
 * The rule (tests/README.md): a range put on the host must overlap no route of the machine (any
 * table, the default route excepted: a more specific route is what would shadow it) and no address
 * the machine needs: its own addresses, its gateways, its DNS servers, the addresses its package
 * registry and proxies resolve to, and the subnets of Docker's networks (Docker refuses overlapping
 * pools). Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are not special:
 * on some machines they are the real LAN or the registry's address.
 *
 * Pure core: {@linkcode parseCidr}, {@linkcode overlaps}, {@linkcode pickFreeRanges},
 * {@linkcode takenFromRoutes}, {@linkcode takenFromAddresses}, {@linkcode nameservers},
 * {@linkcode candidateRanges}, {@linkcode lan}. Adapter (runs `ip`, `npm`, `getent`, `docker`):
 * {@linkcode hostTaken} and {@linkcode freeLans}.
 *
 * @example Pick one /24 that avoids the LAN and the registry
 * ```ts
 * import { pickFreeRanges } from "./free_range.ts";
 * const [range] = pickFreeRanges(
 *   ["203.0.113.0/24", "10.200.7.0/24"],
 *   ["192.0.2.0/24", "203.0.113.80/32"],
 * );
 * console.assert(range === "10.200.7.0/24");
 * ```
 *
 * @module
 */

/** An IPv4 range: network address as an unsigned 32-bit number and prefix length. */
export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  /** Prefix length, 0-32. */
  len: number;
}

/** A range or address that cannot be parsed, or no free range is left. */
export class FreeRangeError extends Error {
  override name = "FreeRangeError";
}

const mask = (len: number): number => len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;

/** Dotted quad to number; throws {@linkcode FreeRangeError} when it is not one. */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new FreeRangeError(`Not an IPv4 address: "${text}"`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** Number to dotted quad. */
export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

/** "a.b.c.d/len" (or a bare address, meaning /32) to a {@linkcode Cidr}, host bits cleared. */
export function parseCidr(text: string): Cidr {
  const [ip, len, ...rest] = text.trim().split("/");
  const prefix = len === undefined ? 32 : Number(len);
  if (rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > 32 || len === "") {
    throw new FreeRangeError(`Not an IPv4 range: "${text}"`);
  }
  return { base: (parseIpv4(ip ?? "") & mask(prefix)) >>> 0, len: prefix };
}

/** Formats a {@linkcode Cidr} as "a.b.c.d/len". */
export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.len}`;
}

/** Whether two ranges share at least one address (one contains the other). */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const m = mask(Math.min(a.len, b.len));
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/**
 * The first `count` candidates (in order) that overlap none of `taken` nor each other. Throws
 * {@linkcode FreeRangeError} when a candidate or a taken entry does not parse, or when fewer than
 * `count` are free.
 */
export function pickFreeRanges(candidates: string[], taken: string[], count = 1): string[] {
  const busy = taken.map(parseCidr);
  const picked: Cidr[] = [];
  for (const text of candidates) {
    if (picked.length === count) break;
    const c = parseCidr(text);
    if (busy.some((t) => overlaps(c, t)) || picked.some((p) => overlaps(c, p))) continue;
    picked.push(c);
  }
  if (picked.length < count) {
    throw new FreeRangeError(
      `Only ${picked.length} of ${count} candidate ranges are free of the host's routes and ` +
        `needed addresses (${candidates.length} candidates, ${taken.length} taken)`,
    );
  }
  return picked.map(formatCidr);
}

/** One route of `ip -j -4 route show table all` (the fields used here). */
export interface IpRoute {
  /** "default", "a.b.c.d/len" or a bare address. */
  dst?: string;
  /** Next hop. */
  gateway?: string;
  /** Preferred source address. */
  prefsrc?: string;
  /** Multipath next hops. */
  nexthops?: { gateway?: string }[];
}

const isIpv4Range = (s: string | undefined): s is string =>
  s !== undefined && /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(s);

/**
 * Ranges taken by a route dump: every destination but the default route's (0.0.0.0/0 would
 * overlap everything, and a more specific route does not take traffic away from it except for
 * the addresses listed here), plus every gateway and preferred source as a /32.
 */
export function takenFromRoutes(routes: IpRoute[]): string[] {
  const out: string[] = [];
  for (const r of routes) {
    if (r.dst !== "default" && isIpv4Range(r.dst)) out.push(r.dst);
    for (const hop of [r.gateway, r.prefsrc, ...(r.nexthops ?? []).map((h) => h.gateway)]) {
      if (isIpv4Range(hop)) out.push(hop);
    }
  }
  return out;
}

/** One link of `ip -j -4 addr` (the fields used here). */
export interface IpAddrLink {
  /** Addresses. */
  addr_info?: { family?: string; local?: string; prefixlen?: number; address?: string }[];
}

/** The machine's own IPv4 addresses with their prefixes, and point-to-point peers as /32. */
export function takenFromAddresses(links: IpAddrLink[]): string[] {
  const out: string[] = [];
  for (const info of links.flatMap((l) => l.addr_info ?? [])) {
    if (info.family !== "inet") continue;
    if (isIpv4Range(info.local)) out.push(`${info.local}/${info.prefixlen ?? 32}`);
    if (isIpv4Range(info.address)) out.push(info.address);
  }
  return out;
}

/** IPv4 name servers of a resolv.conf text. */
export function nameservers(resolvConf: string): string[] {
  return [...resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)]
    .map((m) => m[1]!)
    .filter((s) => isIpv4Range(s));
}

/**
 * Pools the ranges are taken from, in order. Private, and away from Docker's default address
 * pools (172.17.0.0/16-172.31.0.0/16, 192.168.0.0/16) and the agent's internal pool
 * (172.30.240.0/20); a second pool in shared address space (RFC 6598) in case a VPN routes 10/8.
 */
export const POOLS = ["10.200.0.0/13", "100.88.0.0/13"] as const;

/**
 * Every /`len` of {@linkcode POOLS}, each pool rotated to start at `offset` (modulo its size) so
 * that tests running at the same time rarely try the same range first.
 */
export function candidateRanges(offset: number, len = 24, pools: readonly string[] = POOLS) {
  const out: string[] = [];
  for (const pool of pools.map(parseCidr)) {
    if (len < pool.len) throw new FreeRangeError(`/${len} does not fit in ${formatCidr(pool)}`);
    const n = 2 ** (len - pool.len);
    const step = 2 ** (32 - len);
    const start = ((Math.floor(offset) % n) + n) % n;
    for (let i = 0; i < n; i++) {
      out.push(formatCidr({ base: pool.base + ((start + i) % n) * step, len }));
    }
  }
  return out;
}

/** A picked /24 (or other length) and the names derived from it. */
export interface Lan {
  /** "a.b.c.0/24". */
  subnet: string;
  /** Prefix length. */
  prefixlen: number;
  /** Host `n` of the range: `at(250)` is "a.b.c.250". */
  at(n: number): string;
  /** Host `n` with the prefix: "a.b.c.250/24". */
  cidr(n: number): string;
  /** The dotted netmask: "255.255.255.0". */
  netmask: string;
  /** The agent's MACVLAN network on `parent` for this range: "macvlan_<parent>_a.b.c.0_24". */
  macvlan(parent: string): string;
}

/** Names derived from a range. */
export function lan(subnet: string): Lan {
  const c = parseCidr(subnet);
  const at = (n: number) => {
    if (!Number.isInteger(n) || n <= 0 || n >= 2 ** (32 - c.len)) {
      throw new FreeRangeError(`Host ${n} is not inside ${formatCidr(c)}`);
    }
    return formatIpv4(c.base + n);
  };
  return {
    subnet: formatCidr(c),
    prefixlen: c.len,
    at,
    cidr: (n) => `${at(n)}/${c.len}`,
    netmask: formatIpv4(mask(c.len)),
    macvlan: (parent) => `macvlan_${parent}_${formatIpv4(c.base)}_${c.len}`,
  };
}

// ---- adapter: reads what the host uses ------------------------------------------------------

async function output(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : "";
  } catch {
    return ""; // not installed
  }
}

const hostOf = (url: string): string | null => {
  try {
    return new URL(url.trim()).hostname.replace(/^\[|\]$/g, "") || null;
  } catch {
    return null;
  }
};

let neededCache: Promise<string[]> | null = null;

/**
 * Addresses the machine needs to reach through its default route: the package registries (npm's
 * configured one, `NPM_CONFIG_REGISTRY`) and proxies, resolved the way npm resolves them
 * (getaddrinfo through `getent`), and its DNS servers. Looked up once per process.
 */
function neededAddresses(): Promise<string[]> {
  neededCache ??= (async () => {
    const urls = [
      await output("npm", ["config", "get", "registry"]),
      await output("npm", ["config", "get", "https-proxy"]),
      await output("npm", ["config", "get", "proxy"]),
      ...["NPM_CONFIG_REGISTRY", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]
        .map((k) => Deno.env.get(k) ?? ""),
    ];
    const hosts = [...new Set(urls.map(hostOf).filter((h): h is string => h !== null))];
    const out: string[] = [];
    for (const host of hosts) {
      if (isIpv4Range(host)) {
        out.push(host);
        continue;
      }
      const lines = await output("getent", ["ahostsv4", host]);
      out.push(...lines.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter(isIpv4Range));
    }
    const resolv = await Deno.readTextFile("/etc/resolv.conf").catch(() => "");
    return [...new Set([...out, ...nameservers(resolv)])];
  })();
  return neededCache;
}

/** Subnets of the engine's networks (none when no engine answers). */
async function dockerSubnets(): Promise<string[]> {
  const ids = (await output("docker", ["network", "ls", "-q"])).split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const text = await output("docker", [
    "network",
    "inspect",
    "-f",
    "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
    ...ids,
  ]);
  return text.split(/\s+/).filter(isIpv4Range);
}

/** Everything {@linkcode pickFreeRanges} must avoid on this host, read now. */
export async function hostTaken(): Promise<string[]> {
  const parse = <T>(text: string): T[] => {
    try {
      return JSON.parse(text || "[]");
    } catch {
      return [];
    }
  };
  const routes = await output("ip", ["-j", "-4", "route", "show", "table", "all"]);
  if (routes === "") {
    throw new FreeRangeError("Cannot read the host's routes (`ip -j -4 route show table all`)");
  }
  return [
    ...takenFromRoutes(parse<IpRoute>(routes)),
    ...takenFromAddresses(parse<IpAddrLink>(await output("ip", ["-j", "-4", "addr"]))),
    ...await neededAddresses(),
    ...await dockerSubnets(),
  ];
}

/** `count` free /24s for the host's namespace, from a random place in the pools. */
export async function freeLans(count = 1): Promise<Lan[]> {
  const offset = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return pickFreeRanges(candidateRanges(offset), await hostTaken(), count).map(lan);
}
