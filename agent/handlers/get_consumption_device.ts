/**
 * `get_consumption_device`: a runtime's limits and its sample series, in the original's shape
 * (reference §4.6): no `status` on success, `memory` `"<N> MB"`/`"unlimited"`/`"N/A"`, `cpu`
 * `"<x.y> vCPU"`/`"unlimited"`/`"N/A"`, series of integers; an unknown id answers
 * `{status:"error", error:"Device <id> not found"}`.
 *
 * @module
 */
import { ackMessages } from "../../contracts/mod.ts";
import type { Handler } from "./types.ts";
import { intSeries } from "./get_consumption_orchestrator.ts";

/** Series of one runtime over the requested periods. */
export interface ConsumptionSeries {
  /** CPU samples (% of one core). */
  cpu_usage: { timestamp: number; cpu: number }[];
  /** Memory samples (MB). */
  memory_usage: { timestamp: number; memory: number }[];
}

/** Resource limits of a runtime container (Docker's HostConfig); 0 means none. */
export interface RuntimeLimits {
  /** `HostConfig.Memory`, bytes. */
  memoryLimit: number;
  /** `HostConfig.NanoCpus`. */
  nanoCpus: number;
  /** `HostConfig.CpuQuota`, µs per period. */
  cpuQuota?: number;
  /** `HostConfig.CpuPeriod`, µs. */
  cpuPeriod?: number;
}

/** Dependencies. */
export interface GetConsumptionDeviceDeps {
  /**
   * Limits of a runtime the agent manages; null when `id` is not one of them (the answer is
   * then "Device <id> not found"). A throw means the runtime is known but unreadable: "N/A".
   */
  limits?: (id: string) => Promise<RuntimeLimits | null>;
  /**
   * @deprecated Pass `limits`; used only when `limits` is absent. (Typed by structure, so this
   * handler does not depend on the runtime manager's module.)
   */
  runtimes?: LegacyRuntimes;
  /** Reads the buffers of `key` over the two period strings. */
  query: (key: string, cpuPeriod: string, memoryPeriod: string) =>
    | ConsumptionSeries
    | Promise<ConsumptionSeries>;
}

/** The part of the runtime manager the deprecated path reads. */
export interface LegacyRuntimes {
  /** Names of managed runtimes. */
  names(): string[];
  /** Docker access. */
  core: { docker: { inspectContainer(id: string): Promise<RuntimeLimits | null> } };
}

const MB = 2 ** 20;

/** `memory` text of the ack. Pure. */
export function memoryText(limits: RuntimeLimits | "unreadable"): string {
  if (limits === "unreadable") return "N/A";
  return limits.memoryLimit > 0 ? `${Math.trunc(limits.memoryLimit / MB)} MB` : "unlimited";
}

/** `cpu` text of the ack: NanoCpus, else CpuQuota / CpuPeriod. Pure. */
export function cpuText(limits: RuntimeLimits | "unreadable"): string {
  if (limits === "unreadable") return "N/A";
  const cpus = limits.nanoCpus > 0
    ? limits.nanoCpus / 1e9
    : (limits.cpuQuota ?? 0) > 0 && (limits.cpuPeriod ?? 0) > 0
    ? limits.cpuQuota! / limits.cpuPeriod!
    : 0;
  return cpus > 0 ? `${cpus.toFixed(1)} vCPU` : "unlimited";
}

function legacyLimits(runtimes: LegacyRuntimes): (id: string) => Promise<RuntimeLimits | null> {
  return (id) =>
    runtimes.names().includes(id)
      ? runtimes.core.docker.inspectContainer(id)
      : Promise.resolve(null);
}

/** Handler. */
export const getConsumptionDevice: Handler<"get_consumption_device", GetConsumptionDeviceDeps> =
  async (deps, msg) => {
    const id = msg.device_id;
    const lookup = deps.limits ?? (deps.runtimes ? legacyLimits(deps.runtimes) : null);
    if (!lookup) return { status: "error", error: ackMessages.deviceNotFound(id) };
    let limits: RuntimeLimits | "unreadable" | null;
    try {
      limits = await lookup(id);
    } catch {
      limits = "unreadable";
    }
    if (limits === null) return { status: "error", error: ackMessages.deviceNotFound(id) };
    const series = await deps.query(id, msg.cpuPeriod, msg.memoryPeriod);
    return {
      device_id: id,
      memory: memoryText(limits),
      cpu: cpuText(limits),
      ...intSeries(series.cpu_usage, series.memory_usage),
    };
  };
