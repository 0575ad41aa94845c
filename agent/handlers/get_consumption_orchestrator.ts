/**
 * `get_consumption_orchestrator`: host facts and the host's CPU / memory series.
 *
 * @module
 */
import { type GetConsumptionOrchestrator, parsePeriod } from "../../contracts/mod.ts";
import { DEFAULT_MAX_POINTS, round1 } from "../metrics/downsample.ts";
import { type ConsumptionStore, HOST_KEY } from "../metrics/consumption.ts";
import type { AckBody } from "./types.ts";

/** Static-ish facts about the host. */
export interface HostFacts {
  /** IPv4 address per interface (loopback left out). */
  ip_addresses: { interface: string; ip_address: string }[];
  /** Total memory, MB. */
  memory: number;
  /** Logical CPUs. */
  cpu: number;
  /** OS name, e.g. `Debian GNU/Linux 12 (bookworm)`. */
  os: string;
  /** Kernel release. */
  kernel: string;
  /** Total disk over physical filesystems, GB. */
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
    ...facts,
    cpu_usage: deps.consumption.query(HOST_KEY, cpuRange, max).map((s) => ({
      timestamp: s.timestamp,
      cpu: round1(s.cpu),
    })),
    memory_usage: deps.consumption.query(HOST_KEY, memRange, max).map((s) => ({
      timestamp: s.timestamp,
      memory: round1(s.memory),
    })),
  };
}

/** IPv4 addresses of non-loopback interfaces, from `Deno.networkInterfaces()` output. Pure. */
export function ipv4Addresses(
  ifaces: { name: string; family: string; address: string }[],
): HostFacts["ip_addresses"] {
  return ifaces
    .filter((i) => i.family === "IPv4" && i.name !== "lo" && !i.address.startsWith("127."))
    .map((i) => ({ interface: i.name, ip_address: i.address }))
    .sort((a, b) => a.interface.localeCompare(b.interface));
}

/** `PRETTY_NAME` of an os-release file. Pure. */
export function osName(osRelease: string): string | null {
  const m = /^PRETTY_NAME=(.*)$/m.exec(osRelease);
  return m ? m[1]!.trim().replace(/^"(.*)"$/, "$1") : null;
}
