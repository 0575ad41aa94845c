/**
 * `get_consumption_orchestrator`: host facts and the host's CPU / memory series, with the
 * original's types (reference §4.6, §5.2): `memory` int MB, `cpu` int, `disk` int GB of 1024^3
 * bytes, series points `{timestamp:int, cpu:int}` / `{timestamp:int, memory:int MB}`. Integers
 * are truncated as the original's `int()` does. Success carries no `status` field.
 *
 * @module
 */
import { ORIGINAL_VIRTUAL_PREFIXES } from "../network/virtual_names.ts";
import { type GetConsumptionOrchestrator, parsePeriod } from "../../contracts/mod.ts";
import { DEFAULT_MAX_POINTS } from "../metrics/downsample.ts";
import { type ConsumptionStore, HOST_KEY } from "../metrics/consumption.ts";
import type { AckBody } from "./types.ts";

/** Static-ish facts about the host. */
export interface HostFacts {
  /** IPv4 address per interface (loopback left out). */
  ip_addresses: { interface: string; ip_address: string }[];
  /** Total memory, MB (int). */
  memory: number;
  /** Logical CPUs (int). */
  cpu: number;
  /** OS name, e.g. `Debian GNU/Linux 12 (bookworm)`. */
  os: string;
  /** Kernel release. */
  kernel: string;
  /** Total disk over physical filesystems, GB of 1024^3 bytes (int). */
  disk: number;
}

/** What the handler needs. */
export interface ConsumptionOrchestratorDeps {
  /** The buffers. */
  consumption: ConsumptionStore;
  /** Host facts (may read files). */
  facts: () => Promise<HostFacts>;
  /** Unix seconds. */
  now: () => number;
  /** Points per series bound. */
  maxPoints?: number;
}

/** The handler. */
export async function getConsumptionOrchestrator(
  deps: ConsumptionOrchestratorDeps,
  msg: GetConsumptionOrchestrator,
): Promise<AckBody> {
  const now = deps.now();
  // The schema already refused unparsable periods; the fallback only satisfies the type.
  const cpuRange = parsePeriod(msg.cpuPeriod, now) ?? { start: now, end: now };
  const memRange = parsePeriod(msg.memoryPeriod, now) ?? { start: now, end: now };
  const max = deps.maxPoints ?? DEFAULT_MAX_POINTS;
  const facts = await deps.facts();
  return {
    ip_addresses: facts.ip_addresses,
    // Integers whatever the facts source gives (the original's types).
    memory: Math.trunc(facts.memory),
    cpu: Math.max(1, Math.trunc(facts.cpu)),
    os: facts.os,
    kernel: facts.kernel,
    disk: Math.trunc(facts.disk),
    ...intSeries(
      deps.consumption.query(HOST_KEY, cpuRange, max),
      deps.consumption.query(HOST_KEY, memRange, max),
    ),
  };
}

/** Bytes per MB and GB as the original counts them (reference §4.6, §5). */
const MB = 2 ** 20;
const GB = 2 ** 30;

/**
 * Series in the original's types: every figure an integer, truncated like Python's `int()`
 * (reference §5.2). Pure.
 */
export function intSeries(
  cpu: { timestamp: number; cpu: number }[],
  memory: { timestamp: number; memory: number }[],
): {
  cpu_usage: { timestamp: number; cpu: number }[];
  memory_usage: { timestamp: number; memory: number }[];
} {
  return {
    cpu_usage: cpu.map((s) => ({ timestamp: Math.trunc(s.timestamp), cpu: Math.trunc(s.cpu) })),
    memory_usage: memory.map((s) => ({
      timestamp: Math.trunc(s.timestamp),
      memory: Math.trunc(s.memory),
    })),
  };
}

/** Host figures in bytes, before the original's units are applied. */
export interface RawHostFacts {
  /** IPv4 per interface, as `Deno.networkInterfaces()` lists them. */
  interfaces: { name: string; family: string; address: string }[];
  /** Total memory, bytes. */
  memoryBytes: number;
  /** Logical CPUs. */
  cpus: number;
  /** Contents of os-release, or null when none could be read. */
  osRelease: string | null;
  /** Kernel release. */
  kernel: string;
  /** Total bytes of the physical filesystems. */
  diskBytes: number;
}

/** The facts in the original's units: MB and GB of 1024^2 / 1024^3 bytes, truncated. Pure. */
export function hostFactsOf(raw: RawHostFacts): HostFacts {
  return {
    ip_addresses: ipv4Addresses(raw.interfaces),
    memory: Math.trunc(raw.memoryBytes / MB),
    cpu: Math.max(1, Math.trunc(raw.cpus)),
    // The original falls back to "Linux <release>" when it cannot name the distribution.
    os: (raw.osRelease === null ? null : osName(raw.osRelease)) ?? `Linux ${raw.kernel}`,
    kernel: raw.kernel,
    disk: Math.trunc(raw.diskBytes / GB),
  };
}

/**
 * Reads the host facts (needs `--allow-sys=networkInterfaces,systemMemoryInfo,osRelease` and
 * read access to os-release). `/host/etc/os-release` first: in a container it names the host.
 * The composition root passes it as `facts`.
 */
export async function readHostFacts(diskTotalBytes: () => number): Promise<HostFacts> {
  let osRelease: string | null = null;
  for (const f of ["/host/etc/os-release", "/etc/os-release"]) {
    try {
      osRelease = await Deno.readTextFile(f);
      break;
    } catch { /* try the next */ }
  }
  return hostFactsOf({
    interfaces: Deno.networkInterfaces(),
    memoryBytes: Deno.systemMemoryInfo().total,
    cpus: navigator.hardwareConcurrency,
    osRelease,
    kernel: Deno.osRelease(),
    diskBytes: diskTotalBytes(),
  });
}

/**
 * Interface name prefixes the original leaves out of `ip_addresses` (reference §4.6): loopback,
 * container bridges and veths, VPN and overlay links.
 */
export const SKIPPED_PREFIXES: readonly string[] = ORIGINAL_VIRTUAL_PREFIXES;

/**
 * IPv4 addresses of physical interfaces, from `Deno.networkInterfaces()` output, without the
 * original's skipped prefixes and 127.*. Pure.
 */
export function ipv4Addresses(
  ifaces: { name: string; family: string; address: string }[],
): HostFacts["ip_addresses"] {
  return ifaces
    .filter((i) =>
      i.family === "IPv4" && !SKIPPED_PREFIXES.some((p) => i.name.startsWith(p)) &&
      !i.address.startsWith("127.")
    )
    .map((i) => ({ interface: i.name, ip_address: i.address }))
    .sort((a, b) => a.interface.localeCompare(b.interface));
}

/** `PRETTY_NAME` of an os-release file. Pure. */
export function osName(osRelease: string): string | null {
  const m = /^PRETTY_NAME=(.*)$/m.exec(osRelease);
  return m ? m[1]!.trim().replace(/^"(.*)"$/, "$1") : null;
}
