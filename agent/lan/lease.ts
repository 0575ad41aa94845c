/**
 * The pure core of DHCP per vNIC: the event files the udhcpc script writes, a lease's RFC 2131
 * times, the state a vNIC's lease is in at a given instant, which addresses to keep on an
 * interface before the client starts (INIT-REBOOT), and the merge into the persisted vNIC record.
 * No I/O here; {@link ./dhcp_supervisor.ts} does the effects.
 *
 * @module
 */

/** What udhcpc called its script with (busybox 1.35: deconfig, bound, renew, leasefail, nak). */
export type DhcpEventKind = "deconfig" | "bound" | "renew" | "leasefail" | "nak";
const KINDS: readonly DhcpEventKind[] = ["deconfig", "bound", "renew", "leasefail", "nak"];

/** One script call, as written to `<vnic>.event` (and, for bound/renew, `<vnic>.lease`). */
export interface DhcpEvent {
  kind: DhcpEventKind;
  /** Epoch ms when the script ran (the script has whole seconds). */
  at: number;
  /** Pid of the udhcpc that called the script. */
  client_pid: number;
  interface: string | null;
  /** For deconfig: whether the address of a lease this client held was removed. */
  lost: boolean;
  ip: string | null;
  prefix: number | null;
  router: string | null;
  dns: string[];
  domain: string | null;
  lease_s: number | null;
  server: string | null;
}

/** A lease the server granted (from a bound or renew event). */
export interface Lease {
  ip: string;
  prefix: number;
  gateway: string | null;
  dns: string[];
  domain: string | null;
  server: string | null;
  /** Epoch ms of the ACK. */
  bound_at: number;
  lease_s: number;
}

/** States of a vNIC's lease (issue 12: bound, renewing, waiting for offer, with expiry). */
export type LeaseState =
  | "bound"
  | "renewing"
  | "rebinding"
  | "waiting for offer"
  | "expired"
  | "released";

/** What the agent reports and persists for one DHCP vNIC. */
export interface LeaseView {
  state: LeaseState;
  /** Present while a lease holds (bound, renewing, rebinding). */
  ip?: string;
  prefix?: number;
  gateway?: string | null;
  dns: string[];
  /** ISO 8601 end of the held lease. */
  expires_at?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `s` is a dotted-quad IPv4 address. Pure. */
export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/**
 * Parses an event file: `key=value` lines as the script writes them. Throws `SyntaxError` when a
 * required key is missing or a value is malformed (a torn or foreign file), so a caller can ignore
 * it and keep the last good state.
 */
export function parseEvent(text: string): DhcpEvent {
  const kv = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const kind = kv.get("event") as DhcpEventKind | undefined;
  if (!kind || !KINDS.includes(kind)) {
    throw new SyntaxError(`Cannot parse DHCP event: unknown event "${kind ?? ""}"`);
  }
  const at = Number(kv.get("at"));
  const pid = Number(kv.get("pid"));
  if (!Number.isInteger(at) || at <= 0 || !Number.isInteger(pid) || pid <= 0) {
    throw new SyntaxError(`Cannot parse DHCP event: bad "at" or "pid"`);
  }
  const ip = opt(kv.get("ip"));
  const mask = opt(kv.get("mask"));
  const prefix = mask === null ? null : Number(mask);
  if (ip !== null && !isIpv4(ip)) throw new SyntaxError(`Cannot parse DHCP event: bad ip "${ip}"`);
  if (prefix !== null && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= 32)) {
    throw new SyntaxError(`Cannot parse DHCP event: bad mask "${mask}"`);
  }
  const ev: DhcpEvent = {
    kind,
    at: at * 1000,
    client_pid: pid,
    interface: opt(kv.get("interface")),
    lost: kv.get("lost") === "1",
    ip,
    prefix,
    router: firstIp(kv.get("router")),
    dns: (kv.get("dns") ?? "").split(/\s+/).filter(isIpv4),
    domain: opt(kv.get("domain")),
    lease_s: opt(kv.get("lease")) === null ? null : Number(kv.get("lease")),
    server: firstIp(kv.get("serverid")),
  };
  if ((kind === "bound" || kind === "renew") && (ip === null || prefix === null)) {
    throw new SyntaxError(`Cannot parse DHCP event: ${kind} without ip/mask`);
  }
  if (ev.lease_s !== null && !(Number.isFinite(ev.lease_s) && ev.lease_s > 0)) {
    throw new SyntaxError(`Cannot parse DHCP event: bad lease "${kv.get("lease")}"`);
  }
  return ev;
}

function opt(v: string | undefined): string | null {
  return v === undefined || v === "" ? null : v;
}

function firstIp(v: string | undefined): string | null {
  const first = (v ?? "").split(/\s+/)[0] ?? "";
  return isIpv4(first) ? first : null;
}

/** Lease time assumed when the server sends none: RFC 2131 §3.3 says the client must not assume
 * more than it was given; udhcpc itself falls back to 1 hour, so we report the same. */
export const DEFAULT_LEASE_S = 3600;

/** The lease of a bound/renew event, or null for other events. Pure. */
export function leaseOf(ev: DhcpEvent): Lease | null {
  if ((ev.kind !== "bound" && ev.kind !== "renew") || ev.ip === null || ev.prefix === null) {
    return null;
  }
  return {
    ip: ev.ip,
    prefix: ev.prefix,
    gateway: ev.router,
    dns: ev.dns,
    domain: ev.domain,
    server: ev.server,
    bound_at: ev.at,
    lease_s: ev.lease_s ?? DEFAULT_LEASE_S,
  };
}

/** RFC 2131 §4.4.5 defaults: T1 at 0.5 and T2 at 0.875 of the lease (epoch ms). Pure. */
export function leaseTimes(l: Lease): { t1: number; t2: number; expiry: number } {
  const ms = l.lease_s * 1000;
  return { t1: l.bound_at + ms / 2, t2: l.bound_at + ms * 7 / 8, expiry: l.bound_at + ms };
}

/** Inputs of {@linkcode leaseView}. */
export interface LeaseFacts {
  /** The last lease the server granted (persisted), if any. */
  lease: Lease | null;
  /** The lease's address was removed (lost at expiry, NAK, or not put back after a subnet move)
   * and nothing bound since. */
  lost: boolean;
  /** The lease was released (stop or delete) and no client has bound since. */
  released: boolean;
  now: number;
}

/** The state of a vNIC's lease at `now`. Pure. */
export function leaseView(f: LeaseFacts): LeaseView {
  if (f.released) return { state: "released", dns: [] };
  if (f.lease === null) return { state: "waiting for offer", dns: [] };
  const t = leaseTimes(f.lease);
  if (f.now >= t.expiry) return { state: "expired", dns: [] };
  if (f.lost) return { state: "waiting for offer", dns: [] };
  const state: LeaseState = f.now >= t.t2 ? "rebinding" : f.now >= t.t1 ? "renewing" : "bound";
  return {
    state,
    ip: f.lease.ip,
    prefix: f.lease.prefix,
    gateway: f.lease.gateway,
    dns: f.lease.dns,
    expires_at: new Date(t.expiry).toISOString(),
  };
}

/** An IPv4 address with prefix on an interface. */
export interface IfAddr {
  ip: string;
  prefix: number;
}

/** What to do on a vNIC's interface before its client starts. */
export interface PreparePlan {
  /** Addresses to remove (Docker's IPAM address, leftovers). */
  remove: IfAddr[];
  /** The still-valid lease to put (back) on the interface, with its default route. */
  apply: Lease | null;
}

/** A lease closer than this to its expiry is not re-applied: the client would lose it at once. */
export const REAPPLY_MARGIN_MS = 5_000;

/**
 * Decides which addresses stay on a vNIC's interface before its client (re)starts. Pure.
 *
 * Docker's IPAM address always goes. A lease that is still valid is kept (or put back) so the
 * address does not change or disappear across restarts (RFC 2131 §3.7: a client may use an
 * unexpired lease when it restarts); the client then asks for that same address. It is put back
 * only when it is already on the interface, or lies inside the subnet Docker gave the interface
 * (the network's subnet is the LAN's): after a subnet move the old lease is dropped, not applied
 * in the wrong LAN.
 */
export function planPrepare(addrs: IfAddr[], lease: Lease | null, now: number): PreparePlan {
  const valid = lease !== null && now < leaseTimes(lease).expiry - REAPPLY_MARGIN_MS;
  let apply: Lease | null = null;
  if (valid) {
    const present = addrs.some((a) => a.ip === lease.ip);
    const inSubnet = addrs.some((a) =>
      a.prefix === lease.prefix && sameNetwork(a.ip, lease.ip, a.prefix)
    );
    if (present || inSubnet) apply = lease;
  }
  return { remove: addrs.filter((a) => a.ip !== apply?.ip), apply };
}

function toInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

/** Whether two IPv4 addresses share the first `prefix` bits. Pure. */
export function sameNetwork(a: string, b: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return Math.floor(toInt(a) / 2 ** shift) === Math.floor(toInt(b) / 2 ** shift);
}

/** The keys the original agent persists per DHCP vNIC (reference §8). */
export interface PersistedDhcp {
  dhcp_ip?: string;
  dhcp_gateway?: string;
  /** Space-separated, as the original stores it. */
  dhcp_dns?: string;
}

/**
 * Merges a lease view into a persisted vNIC record (`runtime_vnics.json`): sets `dhcp_ip`,
 * `dhcp_gateway`, `dhcp_dns` while a lease holds and removes them when none does (nothing
 * invented). Returns a new object; the input is not changed. Pure.
 */
export function mergeLease<T extends Record<string, unknown>>(
  vnic: T,
  view: LeaseView,
): Omit<T, keyof PersistedDhcp> & PersistedDhcp {
  const { dhcp_ip: _i, dhcp_gateway: _g, dhcp_dns: _d, ...rest } = vnic;
  const out: Record<string, unknown> = { ...rest };
  if (view.ip !== undefined) {
    out.dhcp_ip = view.ip;
    if (view.gateway) out.dhcp_gateway = view.gateway;
    if (view.dns.length > 0) out.dhcp_dns = view.dns.join(" ");
  }
  return out as Omit<T, keyof PersistedDhcp> & PersistedDhcp;
}

/** glibc reads at most 3 nameserver lines (MAXNS). */
export const MAX_NAMESERVERS = 3;

/**
 * The runtime's resolv.conf with the given nameservers: the vNICs' own `dns` first, then the
 * leases'; `search` from the leases' domains, else the existing one; Docker's `options` lines
 * kept. Returns null when no lease brings DNS (the file is then left as Docker wrote it). Pure.
 */
export function renderResolvConf(
  current: string,
  staticDns: string[],
  leases: Lease[],
): string | null {
  const leased = leases.flatMap((l) => l.dns);
  if (leased.length === 0) return null;
  const servers = [...new Set([...staticDns.filter(isIpv4), ...leased])].slice(0, MAX_NAMESERVERS);
  const domains = [...new Set(leases.flatMap((l) => l.domain ? l.domain.split(/\s+/) : []))];
  const lines = current.split("\n");
  const search = domains.length > 0
    ? `search ${domains.join(" ")}`
    : lines.find((l) => /^\s*search\s/.test(l));
  const options = lines.filter((l) => /^\s*options\s/.test(l));
  return [
    "# Written by edge-orchestrator from the DHCP leases of this runtime's vNICs.",
    "# Docker rewrites this file when the container starts; the agent then writes it again.",
    ...(search ? [search] : []),
    ...servers.map((s) => `nameserver ${s}`),
    ...options,
    "",
  ].join("\n");
}

/**
 * The `dhcp` field of `get_device_status` as contracts/topics.ts defines it today (requesting,
 * bound, renewing, expired, failed): rebinding is reported as renewing, waiting for offer as
 * requesting, released as expired. Pure.
 */
export function toStatusLease(view: LeaseView): { state: LeaseState; expires_at?: string } {
  return view.expires_at
    ? { state: view.state, expires_at: view.expires_at }
    : { state: view.state };
}
