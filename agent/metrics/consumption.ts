/**
 * Consumption buffers for the host and each runtime: 48 h of 5 s samples per key in typed-array
 * rings, persisted under `<state-dir>/metrics/` (one binary file per key, written atomically), and
 * queried with a bounded number of points.
 *
 * The Docker side feeds runtime samples with `record(runtimeName, {timestamp, cpu, memory})`
 * (cpu in % of one core, memory in MB); the host sampler feeds the key {@linkcode HOST_KEY}.
 *
 * @module
 */
import type { TimeRange } from "../../contracts/mod.ts";
import { atomicWrite } from "../state/atomic_write.ts";
import { type Logger, silentLogger } from "../log.ts";
import { DEFAULT_MAX_POINTS, downsample, type Sample } from "./downsample.ts";
import { Ring } from "./ring.ts";

export type { Sample } from "./downsample.ts";

/** Key of the host's own series. Runtime names cannot start with "_" so it never collides. */
export const HOST_KEY = "__host__";
/** Sampling period the buffers are sized for, s (protocol.md §3: 5 s samples). */
export const SAMPLE_PERIOD_S = 5;
/** Retention: 48 h (protocol.md §3). */
export const RETENTION_S = 48 * 3600;
/** Samples per key: 48 h / 5 s = 34,560 (415 KB per key in memory and on disk). */
export const CAPACITY = RETENTION_S / SAMPLE_PERIOD_S;
/** Timestamps above this are taken as milliseconds (1e11 s is the year 5138). */
const MS_THRESHOLD = 1e11;
const EXT = ".bin";

/** What producers and the consumption handlers use. */
export interface ConsumptionStore {
  /** Appends a sample (timestamp in unix seconds; milliseconds are detected and converted). */
  record(key: string, sample: Sample): void;
  /** Samples of `key` inside `range` (unix seconds), at most `maxPoints` (evenly downsampled). */
  query(key: string, range: TimeRange, maxPoints?: number): Sample[];
  /** Drops a key's buffer (and its file at the next persist). */
  forget(key: string): void;
  /** Keys that hold a buffer. */
  keys(): string[];
}

/** The store with persistence. */
export class Consumption implements ConsumptionStore {
  readonly #rings = new Map<string, Ring>();
  readonly #dirty = new Set<string>();
  readonly #forgotten = new Set<string>();
  readonly #dir: string | null;
  readonly #log: Logger;
  readonly #capacity: number;

  /** `dir` null keeps everything in memory (unit tests). */
  constructor(dir: string | null, opts: { log?: Logger; capacity?: number } = {}) {
    this.#dir = dir;
    this.#log = opts.log ?? silentLogger;
    this.#capacity = opts.capacity ?? CAPACITY;
  }

  record(key: string, sample: Sample): void {
    const timestamp = sample.timestamp > MS_THRESHOLD ? sample.timestamp / 1000 : sample.timestamp;
    if (![timestamp, sample.cpu, sample.memory].every(Number.isFinite)) return;
    let ring = this.#rings.get(key);
    if (!ring) {
      ring = new Ring(this.#capacity);
      this.#rings.set(key, ring);
      this.#forgotten.delete(key);
    }
    ring.push({ timestamp, cpu: sample.cpu, memory: sample.memory });
    this.#dirty.add(key);
  }

  query(key: string, range: TimeRange, maxPoints = DEFAULT_MAX_POINTS): Sample[] {
    const ring = this.#rings.get(key);
    return ring ? downsample(ring.range(range.start, range.end), maxPoints) : [];
  }

  forget(key: string): void {
    if (this.#rings.delete(key)) this.#forgotten.add(key);
    this.#dirty.delete(key);
  }

  keys(): string[] {
    return [...this.#rings.keys()];
  }

  /** Loads every `<dir>/*.bin`; an unreadable or torn file is logged and its key starts empty. */
  async restore(): Promise<void> {
    if (!this.#dir) return;
    try {
      for await (const entry of Deno.readDir(this.#dir)) {
        if (!entry.isFile || !entry.name.endsWith(EXT)) continue;
        const key = decodeURIComponent(entry.name.slice(0, -EXT.length));
        try {
          const bytes = await Deno.readFile(`${this.#dir}/${entry.name}`);
          this.#rings.set(key, Ring.decode(bytes, this.#capacity));
        } catch (err) {
          this.#log.warn(
            `Cannot restore consumption buffer "${key}": ${(err as Error).message}; starting empty`,
          );
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#log.warn(`Cannot read ${this.#dir}: ${(err as Error).message}; buffers start empty`);
      }
    }
  }

  /** Writes the buffers that changed since the last call (atomically, one file per key). */
  async persist(): Promise<void> {
    if (!this.#dir) return;
    await Deno.mkdir(this.#dir, { recursive: true });
    for (const key of [...this.#dirty]) {
      this.#dirty.delete(key);
      const ring = this.#rings.get(key);
      if (!ring) continue;
      try {
        await atomicWrite(this.#file(key), ring.encode());
      } catch (err) {
        this.#dirty.add(key);
        this.#log.error(`Cannot persist consumption buffer "${key}": ${(err as Error).message}`);
      }
    }
    for (const key of [...this.#forgotten]) {
      this.#forgotten.delete(key);
      await Deno.remove(this.#file(key)).catch(() => {});
    }
  }

  #file(key: string): string {
    return `${this.#dir}/${encodeURIComponent(key)}${EXT}`;
  }
}
