/**
 * The host sampler: every 5 s reads CPU counters (`os.cpus()`) and memory
 * (`Deno.systemMemoryInfo()`), both cheap in-process calls; every 60 s the physical filesystems
 * through one `df -P -k` run (Deno does not let us read `/proc/mounts` or call statfs without
 * broader permissions; one process a minute is negligible, unlike systeminformation's `fsSize`
 * which spawns three per call). Keeps the latest snapshot for the heartbeat and feeds the host
 * consumption buffer, whether or not the cloud is connected. The heartbeat only reads the
 * snapshot, so a slow read never delays it.
 *
 * @module
 */
import { cpus } from "node:os";
import type { Logger } from "../log.ts";
import type { ConsumptionStore } from "./consumption.ts";
import { HOST_KEY, SAMPLE_PERIOD_S } from "./consumption.ts";
import { cpuPercent, type CpuTimes, cpuTimesOf, parseDf } from "./parse.ts";
import { type Every, intervalEvery } from "../ticker.ts";

/** Disk usage changes slowly; 60 s keeps `df` runs rare and the figure fresh enough. */
export const DISK_PERIOD_MS = 60_000;
/** A `df` hanging on a dead mount is killed after 10 s; the last disk figures stay. */
const DF_TIMEOUT_MS = 10_000;

/** Latest host figures, bytes and %. */
export interface HostSnapshot {
  /** Busy CPU over the last sample period, % of all cores. */
  cpuPercent: number;
  /** Memory used (total - available), bytes. */
  memUsed: number;
  /** Memory total, bytes. */
  memTotal: number;
  /** Used bytes over physical filesystems, each device once. */
  diskUsed: number;
  /** Total bytes of those filesystems. */
  diskTotal: number;
  /** Unix ms of the last CPU/memory sample. */
  sampledAt: number;
}

/** Where the sampler reads (injectable for tests). */
export interface HostSources {
  /** Cumulative CPU times. */
  cpuTimes(): CpuTimes;
  /** Memory total and available, bytes. */
  memory(): { total: number; available: number };
  /** Output of `df -P -k`. */
  df(): Promise<string>;
  /** Unix ms. */
  now(): number;
}

/** Runs `df -P -k -l` (local filesystems only: a hung NFS server cannot stall it). */
async function runDf(): Promise<string> {
  const out = await new Deno.Command("df", {
    args: ["-P", "-k", "-l"],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(DF_TIMEOUT_MS),
  }).output();
  // df exits 1 when one filesystem could not be read but still prints the others.
  return new TextDecoder().decode(out.stdout);
}

/** The real sources. */
export const realSources: HostSources = {
  cpuTimes: () => cpuTimesOf(cpus()),
  memory: () => Deno.systemMemoryInfo(),
  df: runDf,
  now: () => Date.now(),
};

/** Samples the host periodically. */
export class HostSampler {
  readonly #src: HostSources;
  readonly #store: ConsumptionStore;
  readonly #log: Logger;
  #prevCpu: CpuTimes | null = null;
  #lastDisk = -Infinity;
  #stop: () => void = () => {};
  #diskBusy = false;
  #diskDone: Promise<void> = Promise.resolve();
  #snap: HostSnapshot = {
    cpuPercent: 0,
    memUsed: 0,
    memTotal: 0,
    diskUsed: 0,
    diskTotal: 0,
    sampledAt: 0,
  };

  /** Creates a sampler feeding `store` under {@linkcode HOST_KEY}. */
  constructor(store: ConsumptionStore, log: Logger, src: HostSources = realSources) {
    this.#store = store;
    this.#log = log;
    this.#src = src;
  }

  /** Latest values (never waits). */
  get snapshot(): HostSnapshot {
    return { ...this.#snap };
  }

  /** Takes one sample; the first call only primes the CPU counters. Starts a disk read when due. */
  sample(): void {
    try {
      const now = this.#src.now();
      const cpu = this.#src.cpuTimes();
      const info = this.#src.memory();
      this.#snap.memTotal = info.total;
      this.#snap.memUsed = info.total - info.available;
      if (this.#prevCpu) {
        this.#snap.cpuPercent = cpuPercent(this.#prevCpu, cpu);
        this.#snap.sampledAt = now;
        this.#store.record(HOST_KEY, {
          timestamp: Math.round(now / 1000),
          cpu: this.#snap.cpuPercent,
          memory: this.#snap.memUsed / 2 ** 20,
        });
      }
      this.#prevCpu = cpu;
      if (now - this.#lastDisk >= DISK_PERIOD_MS && !this.#diskBusy) {
        this.#lastDisk = now;
        this.#diskBusy = true;
        // Not awaited: a slow df must not delay the next CPU/memory sample.
        this.#diskDone = this.#sampleDisk();
      }
    } catch (err) {
      this.#log.warn(`Host metrics sample failed: ${(err as Error).message}`);
    }
  }

  /** Resolves when the disk read in progress (if any) finished. */
  diskSettled(): Promise<void> {
    return this.#diskDone;
  }

  async #sampleDisk(): Promise<void> {
    try {
      const rows = parseDf(await this.#src.df());
      this.#snap.diskUsed = rows.reduce((a, r) => a + r.used, 0);
      this.#snap.diskTotal = rows.reduce((a, r) => a + r.total, 0);
    } catch (err) {
      this.#log.warn(`Disk metrics sample failed: ${(err as Error).message}`);
    } finally {
      this.#diskBusy = false;
    }
  }

  /** Samples now and then every `periodS` seconds (5 s: the buffers' resolution), on the
   * agent's shared clock when given (agent/ticker.ts). */
  start(periodS = SAMPLE_PERIOD_S, every: Every = intervalEvery): void {
    this.sample();
    this.#stop = every(periodS * 1000, () => this.sample());
  }

  /** Stops sampling. */
  stop(): void {
    this.#stop();
  }
}
