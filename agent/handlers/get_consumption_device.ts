/**
 * `get_consumption_device`: a runtime's limits from Docker and its sample series from the
 * consumption buffers (queried through an injected function).
 *
 * @module
 */
import type { Handler } from "./types.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";

/** Series of one runtime over the requested periods. */
export interface ConsumptionSeries {
  /** CPU samples (% of one core). */
  cpu_usage: { timestamp: number; cpu: number }[];
  /** Memory samples (MB). */
  memory_usage: { timestamp: number; memory: number }[];
}

/** Dependencies. */
export interface GetConsumptionDeviceDeps {
  /** Runtime manager. */
  runtimes: RuntimeManager;
  /** Reads the buffers of `key` over the two period strings. */
  query: (key: string, cpuPeriod: string, memoryPeriod: string) =>
    | ConsumptionSeries
    | Promise<ConsumptionSeries>;
}

/** Handler. */
export const getConsumptionDevice: Handler<"get_consumption_device", GetConsumptionDeviceDeps> =
  async (deps, msg) => {
    const id = msg.device_id;
    const info = deps.runtimes.names().includes(id)
      ? await deps.runtimes.core.docker.inspectContainer(id)
      : null;
    if (!info) return { status: "error", error: `Device not found: ${id}` };
    const series = await deps.query(id, msg.cpuPeriod, msg.memoryPeriod);
    return {
      device_id: id,
      memory: info.memoryLimit > 0
        ? `${Math.round(info.memoryLimit / (1024 * 1024))} MB`
        : "unlimited",
      cpu: info.nanoCpus > 0 ? `${(info.nanoCpus / 1e9).toFixed(1)} vCPU` : "unlimited",
      cpu_usage: series.cpu_usage,
      memory_usage: series.memory_usage,
    };
  };
