/**
 * Consumption samples of every running runtime (CPU in % of one core, memory in MB), collected
 * concurrently from one-shot Docker stats and written to the injected sink. CPU needs two
 * readings: the sampler keeps the previous one per runtime and records from the second tick on.
 *
 * @module
 */
import type { DockerPort, StatsReading } from "../docker/port.ts";
import type { Logger } from "../log.ts";
import { roleSelector } from "./naming.ts";
import { type Every, intervalEvery } from "../ticker.ts";

/** Where consumption samples go (agent/metrics/consumption.ts). */
export interface ConsumptionSink {
  /** Records one sample of a runtime. */
  record(key: string, sample: { timestamp: number; cpu: number; memory: number }): void;
  /** Drops a deleted runtime's buffers. */
  forget(key: string): void;
}

/** The protocol's sample period: buffers hold 48 h of 5 s samples (protocol.md §3). */
export const SAMPLE_INTERVAL_MS = 5_000;
// Bounded fan-out: one stats call per runtime at once would queue dozens of requests on the
// Docker socket on a busy box; 8 keeps a 5 s tick far under 1 s for typical edge sizes.
const CONCURRENCY = 8;

/** CPU % of one core between two readings (Docker's formula), or null when not computable. */
export function cpuPercent(prev: StatsReading, cur: StatsReading): number | null {
  const dCpu = cur.cpuTotal - prev.cpuTotal;
  const dSys = cur.systemCpu - prev.systemCpu;
  if (dSys <= 0 || dCpu < 0) return null;
  return Math.round((dCpu / dSys) * cur.onlineCpus * 100 * 100) / 100;
}

/** Memory in MB (MiB, as `docker stats` shows it), two decimals. */
export function memoryMb(reading: StatsReading): number {
  return Math.round((reading.memoryBytes / (1024 * 1024)) * 100) / 100;
}

/** Samples runtimes every 5 s. */
export class ConsumptionSampler {
  #prev = new Map<string, StatsReading>();
  #docker: DockerPort;
  #sink: ConsumptionSink;
  #log: Logger;
  #labels: Record<string, string>;
  #now: () => Date;

  /** A sampler over the runtimes carrying our labels (plus `extraLabels`). */
  constructor(
    docker: DockerPort,
    sink: ConsumptionSink,
    log: Logger,
    extraLabels: Record<string, string> = {},
    now: () => Date = () => new Date(),
  ) {
    this.#docker = docker;
    this.#sink = sink;
    this.#log = log;
    this.#labels = { ...extraLabels, ...roleSelector("runtime") };
    this.#now = now;
  }

  /** One tick: reads every running runtime, records those with a previous reading. */
  async sampleOnce(): Promise<number> {
    const running = (await this.#docker.listContainers(this.#labels))
      .filter((c) => c.state === "running").map((c) => c.name);
    for (const name of this.#prev.keys()) if (!running.includes(name)) this.#prev.delete(name);
    let recorded = 0;
    const queue = [...running];
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        try {
          const cur = await this.#docker.statsOnce(name);
          const prev = this.#prev.get(name);
          this.#prev.set(name, cur);
          const cpu = prev ? cpuPercent(prev, cur) : null;
          if (cpu === null) continue;
          const timestamp = Math.floor(this.#now().getTime() / 1000);
          this.#sink.record(name, { timestamp, cpu, memory: memoryMb(cur) });
          recorded++;
        } catch (err) {
          this.#log.debug("Stats reading failed", { runtime: name, error: String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
    return recorded;
  }

  /** Samples every {@linkcode SAMPLE_INTERVAL_MS} until the signal aborts, on the agent's
   * shared clock when given (agent/ticker.ts). */
  run(signal: AbortSignal, every: Every = intervalEvery): Promise<void> {
    return new Promise((resolve) => {
      let busy = false;
      const stop = every(SAMPLE_INTERVAL_MS, () => {
        if (busy) return; // a slow engine: skip a tick rather than pile up
        busy = true;
        this.sampleOnce().catch((e) => this.#log.warn("Sampling failed", { error: String(e) }))
          .finally(() => (busy = false));
      });
      signal.addEventListener("abort", () => {
        stop();
        resolve();
      }, { once: true });
    });
  }
}
