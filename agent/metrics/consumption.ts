/**
 * Consumption buffers for the host and each runtime: 48 h of 5 s samples per key in typed-array
 * rings, persisted under `<state-dir>/metrics/`, and queried with a bounded number of points.
 *
 * The Docker side feeds runtime samples with `record(runtimeName, {timestamp, cpu, memory})`
 * (cpu in % of one core, memory in MB); the host sampler feeds the key {@linkcode HOST_KEY}.
 *
 * On disk (issue 15): a snapshot per key, `<encodeURIComponent(key)>.bin` (the `Ring` encoding,
 * written with atomicWrite), plus one append-only `journal.log`. Each persist (every 60 s and at
 * shutdown) appends one batch holding the samples recorded since the last one for each key that
 * got any and a tombstone for each key forgotten since, then fdatasyncs the journal once; nothing
 * recorded or forgotten, nothing written. A batch carries its length and a CRC-32 (format in
 * `journal.ts`), so a tail torn by a power cut ends the replay there and is cut off before the
 * next append. When the journal passes {@linkcode JOURNAL_LIMIT}, compaction appends a marker
 * batch, rewrites the snapshots of the keys that changed, removes those of keys that are gone and
 * empties the journal (atomically). A crash between the snapshots and the reset leaves the marker
 * in the journal; replay then skips a key's records from before the marker that are not newer
 * than its snapshot's newest sample, so nothing comes back twice. Consequence: had the clock been
 * set back while those records were taken, a key's records at or below that timestamp are
 * dropped (snapshot not yet rewritten) or come back twice (rewritten); without the marker (every
 * other restore) a clock set back loses nothing. A directory of the previous format (snapshots
 * only, no journal) restores as before.
 *
 * Why: the previous format rewrote each changed key's whole snapshot (415 KB when full) every
 * minute. Measured on ext4 with full rings and 12 samples a key a minute: bytes handed to write()
 * (/proc/self/io wchar) over simulated hours of persists; CPU with process.cpuUsage around one
 * persist after 5 s idle, under the agent's V8 flags (--lite-mode); 2 cores, x86-64:
 *
 * | keys | written before        | after                         | CPU/persist before | after  |
 * | ---- | --------------------- | ----------------------------- | ------------------ | ------ |
 * | 1    | 24.9 MB/h, 597 MB/day | 13 KB/h, 0.34 MB/day (10 d)   | 7-10 ms            | 1-2 ms |
 * | 21   | 523 MB/h, 12.5 GB/day | 206 KB/h, 22 MB/day (2 comp.) | 120-160 ms         | 1-2 ms |
 *
 * (Per day "after" includes the compactions: one in 10 days with one key, two a day with 21.) A
 * compaction costs once what a minute cost before (21 keys: 8.7 MB, ~120 ms CPU; 1 key: 415 KB,
 * ~10 ms). Restore with a journal at the limit: 1 key ~150 ms (snapshot only: 8 ms), 21 keys
 * ~320 ms (snapshots only: 178 ms), once at start, mostly checking CRCs and replaying.
 *
 * @module
 */
import type { TimeRange } from "../../contracts/mod.ts";
import { atomicWrite, syncDir } from "../state/atomic_write.ts";
import { type Logger, silentLogger } from "../log.ts";
import { DEFAULT_MAX_POINTS, downsample, type Sample } from "./downsample.ts";
import {
  decodeJournal,
  encodeBatch,
  encodeRecords,
  type Entry,
  planReplay,
  RECORD,
  type ReplayOp,
} from "./journal.ts";
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
/** Snapshot files are `<encodeURIComponent(key)>.bin`. */
const EXT = ".bin";
/** The journal: not `*.bin`, so restore never takes it for a key's snapshot. */
const JOURNAL = "journal.log";
/**
 * Journal size that triggers a compaction: 2 MiB. One minute's batch is ~170 bytes per key
 * (12 records of 12 bytes, key, entry header), so the journal fills in ~8 days with the host key
 * alone and ~10 h with 20 runtimes; each compaction writes up to 415 KB per key, so larger would
 * save little wear with many keys, while restore reads the whole journal into memory at start.
 */
export const JOURNAL_LIMIT = 2 * 1024 * 1024;
/** atomicWrite's temp names; left over only by a crash in the middle of a write. */
const STALE_TEMP = /\.tmp-\d+-[0-9a-f]{8}$/;

/** What producers and the consumption handlers use. */
export interface ConsumptionStore {
  /** Appends a sample (timestamp in unix seconds; milliseconds are detected and converted). */
  record(key: string, sample: Sample): void;
  /** Samples of `key` inside `range` (unix seconds), at most `maxPoints` (evenly downsampled). */
  query(key: string, range: TimeRange, maxPoints?: number): Sample[];
  /** Drops a key's buffer (and its data on disk at the next persist). */
  forget(key: string): void;
  /** Keys that hold a buffer. */
  keys(): string[];
}

/** The store with persistence. */
export class Consumption implements ConsumptionStore {
  readonly #rings = new Map<string, Ring>();
  /** Per key, how many of its newest samples are not in the journal yet. */
  #unsaved = new Map<string, number>();
  /** Keys forgotten since the last append (a tombstone each in the next batch). */
  #forgotten = new Set<string>();
  /** Keys whose ring differs from their snapshot file (written at the next compaction). */
  readonly #sinceSnapshot = new Set<string>();
  /** Length of the journal's valid prefix; null until restore() or the first append looks. */
  #journalSize: number | null = null;
  /** Whether the journal's directory entry is known to be on disk (else fsync the dir once). */
  #journalDurable = false;
  /** Journal length at which the next compaction runs (pushed out after a failed one). */
  #compactAt: number;
  /** Persists run one at a time (the 60 s ticker and the shutdown call may overlap). */
  #queue: Promise<void> = Promise.resolve();
  readonly #dir: string | null;
  readonly #log: Logger;
  readonly #capacity: number;
  readonly #limit: number;

  /**
   * `dir` null keeps everything in memory (unit tests). `journalLimit` (bytes) overrides
   * {@linkcode JOURNAL_LIMIT} (tests compact small journals).
   */
  constructor(
    dir: string | null,
    opts: { log?: Logger; capacity?: number; journalLimit?: number } = {},
  ) {
    this.#dir = dir;
    this.#log = opts.log ?? silentLogger;
    this.#capacity = opts.capacity ?? CAPACITY;
    this.#limit = opts.journalLimit ?? JOURNAL_LIMIT;
    this.#compactAt = this.#limit;
  }

  record(key: string, sample: Sample): void {
    const timestamp = sample.timestamp > MS_THRESHOLD ? sample.timestamp / 1000 : sample.timestamp;
    if (![timestamp, sample.cpu, sample.memory].every(Number.isFinite)) return;
    let ring = this.#rings.get(key);
    if (!ring) {
      ring = new Ring(this.#capacity);
      this.#rings.set(key, ring);
    }
    ring.push({ timestamp, cpu: sample.cpu, memory: sample.memory });
    this.#unsaved.set(key, Math.min(this.#capacity, (this.#unsaved.get(key) ?? 0) + 1));
    this.#sinceSnapshot.add(key);
  }

  query(key: string, range: TimeRange, maxPoints = DEFAULT_MAX_POINTS): Sample[] {
    const ring = this.#rings.get(key);
    return ring ? downsample(ring.range(range.start, range.end), maxPoints) : [];
  }

  forget(key: string): void {
    if (this.#rings.delete(key)) this.#forgotten.add(key);
    this.#unsaved.delete(key);
    this.#sinceSnapshot.delete(key);
  }

  keys(): string[] {
    return [...this.#rings.keys()];
  }

  /**
   * Loads every `<dir>/*.bin` snapshot (an unreadable or torn one is logged and its key starts
   * empty), then replays the journal up to its first bad batch, which is logged and cut off.
   */
  async restore(): Promise<void> {
    if (!this.#dir) return;
    const snapshotLast = new Map<string, number>();
    let names: string[] = [];
    try {
      names = await fileNames(this.#dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#log.warn(`Cannot read ${this.#dir}: ${(err as Error).message}; buffers start empty`);
      }
    }
    for (const name of names) {
      const key = keyOf(name);
      if (key === null) continue;
      try {
        const ring = Ring.decode(await Deno.readFile(`${this.#dir}/${name}`), this.#capacity);
        this.#rings.set(key, ring);
        if (ring.last !== null) snapshotLast.set(key, ring.last);
      } catch (err) {
        this.#log.warn(
          `Cannot restore consumption buffer "${key}": ${(err as Error).message}; starting empty`,
        );
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#journal());
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        this.#journalSize = 0;
      } else {
        // #journalSize stays unknown: the next append goes after whatever is there.
        this.#log.warn(`Cannot read ${this.#journal()}: ${(err as Error).message}; not replayed`);
      }
      return;
    }
    const { batches, good, bad } = decodeJournal(bytes);
    for (const op of planReplay(batches, snapshotLast)) this.#apply(op);
    this.#journalSize = good;
    this.#journalDurable = true;
    if (!bad) return;
    this.#log.warn(
      `Consumption journal ${this.#journal()}: ${bad.reason} at byte ${bad.offset} of ` +
        `${bytes.length}; replayed the ${batches.length} batches before it, dropping the rest`,
    );
    // Cut now so that nothing is appended behind the garbage (#append checks again).
    try {
      await this.#cutBack(good);
    } catch (err) {
      this.#log.error(`Cannot cut back ${this.#journal()}: ${(err as Error).message}`);
    }
  }

  /**
   * Appends what changed since the last call to the journal as one batch (nothing changed: no
   * write), then compacts if the journal has grown past its limit. A failed append is logged and
   * its samples stay pending for the next call.
   */
  persist(): Promise<void> {
    const run = this.#queue.then(() => this.#persistOnce());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #persistOnce(): Promise<void> {
    if (!this.#dir) return;
    const tombs = this.#forgotten;
    const counts = this.#unsaved;
    if (tombs.size === 0 && counts.size === 0) return;
    this.#forgotten = new Set();
    this.#unsaved = new Map();
    // Tombstones first: a key forgotten and re-created since the last batch has only the new
    // ring's samples in `counts` (forget() cleared the old ones).
    const entries: Entry[] = [...tombs].map((key) => ({ kind: "tombstone", key }));
    for (const [key, n] of counts) {
      const ring = this.#rings.get(key);
      if (ring) entries.push({ kind: "samples", key, records: encodeRecords(ring.tail(n)) });
    }
    try {
      await Deno.mkdir(this.#dir, { recursive: true });
      await this.#append(encodeBatch(entries));
    } catch (err) {
      this.#keepPending(tombs, counts);
      this.#log.error(`Cannot persist consumption buffers: ${(err as Error).message}`);
      return;
    }
    // The tombstones are on disk: the old snapshots are dead weight until the next compaction.
    for (const key of tombs) await Deno.remove(this.#file(key)).catch(() => {});
    if (this.#journalSize! >= this.#compactAt) await this.#compact();
  }

  /** Puts a failed batch's content back in front of what was recorded meanwhile. */
  #keepPending(tombs: Set<string>, counts: Map<string, number>): void {
    const again = new Set(this.#forgotten);
    for (const key of tombs) this.#forgotten.add(key);
    for (const [key, n] of counts) {
      // Forgotten meanwhile: those samples belonged to a ring that is gone.
      if (again.has(key) || !this.#rings.has(key)) continue;
      const now = this.#unsaved.get(key) ?? 0;
      this.#unsaved.set(key, Math.min(this.#capacity, now + n));
    }
  }

  /**
   * Appends `bytes` at the end of the journal's valid prefix and syncs the data (fdatasync: the
   * length is part of what it flushes). Bytes past the prefix (a torn append of an earlier
   * failure, or a bad tail that restore could not cut) are cut off first.
   */
  async #append(bytes: Uint8Array): Promise<void> {
    const path = this.#journal();
    const file = await Deno.open(path, { write: true, create: true, mode: 0o600 });
    try {
      const size = (await file.stat()).size;
      // persist() without restore(): append to whatever is there.
      this.#journalSize ??= size;
      if (size > this.#journalSize) {
        this.#log.warn(`Cutting ${path} back from ${size} to ${this.#journalSize} bytes`);
        await file.truncate(this.#journalSize);
      } else if (size < this.#journalSize) {
        this.#log.warn(`${path} shrank to ${size} bytes (expected ${this.#journalSize})`);
        this.#journalSize = size;
      }
      await file.seek(this.#journalSize, Deno.SeekMode.Start);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    this.#journalSize += bytes.length;
    if (!this.#journalDurable) {
      await syncDir(this.#dir!);
      this.#journalDurable = true;
    }
  }

  /** Truncates the journal to `size` bytes and syncs it. */
  async #cutBack(size: number): Promise<void> {
    const file = await Deno.open(this.#journal(), { write: true });
    try {
      await file.truncate(size);
      await file.syncData();
    } finally {
      file.close();
    }
  }

  /**
   * Writes the snapshots of the keys that changed, removes those of keys that are gone, then
   * empties the journal. A marker batch first tells a replay after a crash in between that the
   * snapshots may already hold what the journal holds (planReplay skips it then). Snapshots leave
   * out each key's samples not journaled yet: those go into the next batch, after the reset.
   */
  async #compact(): Promise<void> {
    const dir = this.#dir!;
    const written: string[] = [];
    try {
      await this.#append(encodeBatch([{ kind: "compaction" }]));
      for (const key of [...this.#sinceSnapshot]) {
        const ring = this.#rings.get(key);
        if (!ring) continue;
        await atomicWrite(this.#file(key), ring.encode(this.#unsaved.get(key) ?? 0));
        written.push(key);
      }
      for (const name of await fileNames(dir)) {
        const key = keyOf(name);
        const stale = key === null ? STALE_TEMP.test(name) : !this.#rings.has(key);
        if (stale) await Deno.remove(`${dir}/${name}`).catch(notFoundOk);
      }
      await atomicWrite(this.#journal(), new Uint8Array());
    } catch (err) {
      // Retry after a quarter of the limit more (hours with 21 keys), not at every persist:
      // a failing disk should not be asked for all the snapshots once a minute.
      this.#compactAt = this.#journalSize! + this.#limit / 4;
      this.#log.error(`Cannot compact ${this.#journal()}: ${(err as Error).message}`);
      return;
    }
    this.#journalSize = 0;
    this.#compactAt = this.#limit;
    for (const key of written) if (!this.#unsaved.has(key)) this.#sinceSnapshot.delete(key);
  }

  #apply(op: ReplayOp): void {
    if (op.op === "drop") {
      this.#rings.delete(op.key);
      this.#sinceSnapshot.delete(op.key);
      return;
    }
    let ring = this.#rings.get(op.key);
    if (!ring) {
      ring = new Ring(this.#capacity);
      this.#rings.set(op.key, ring);
    }
    const v = new DataView(op.records.buffer, op.records.byteOffset, op.records.byteLength);
    for (let o = 0; o < op.records.length; o += RECORD) {
      ring.push({
        timestamp: v.getUint32(o, true),
        cpu: v.getFloat32(o + 4, true),
        memory: v.getFloat32(o + 8, true),
      });
    }
    this.#sinceSnapshot.add(op.key);
  }

  #file(key: string): string {
    return `${this.#dir}/${encodeURIComponent(key)}${EXT}`;
  }

  #journal(): string {
    return `${this.#dir}/${JOURNAL}`;
  }
}

/** Names of the regular files in `dir`. */
async function fileNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  return names;
}

/** The key of a snapshot file name, or null for other files. */
function keyOf(name: string): string | null {
  if (!name.endsWith(EXT)) return null;
  try {
    return decodeURIComponent(name.slice(0, -EXT.length));
  } catch {
    return null; // not a name #file() makes
  }
}

function notFoundOk(err: unknown): void {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}
