/**
 * A fixed-capacity ring of consumption samples in typed arrays (12 bytes a sample: u32 seconds,
 * f32 CPU, f32 memory), and its binary encoding.
 *
 * @module
 */
import type { Sample } from "./downsample.ts";

/** File magic of an encoded ring: "EOC1" (edge-orchestrator consumption, format 1). */
const MAGIC = 0x31434f45;
/** Header: magic, capacity, count (u32 each). */
const HEADER = 12;
/** Bytes per encoded sample. */
const RECORD = 12;

/** Samples in time order, oldest overwritten when full. */
export class Ring {
  readonly capacity: number;
  readonly #ts: Uint32Array;
  readonly #cpu: Float32Array;
  readonly #mem: Float32Array;
  #start = 0;
  #count = 0;

  /** An empty ring holding at most `capacity` samples. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Invalid capacity: ${capacity}`);
    }
    this.capacity = capacity;
    this.#ts = new Uint32Array(capacity);
    this.#cpu = new Float32Array(capacity);
    this.#mem = new Float32Array(capacity);
  }

  /** Number of samples held. */
  get size(): number {
    return this.#count;
  }

  /** Timestamp of the newest sample, or null. */
  get last(): number | null {
    return this.#count === 0 ? null : this.#ts[(this.#start + this.#count - 1) % this.capacity]!;
  }

  /** Appends a sample (timestamp in unix seconds), overwriting the oldest when full. */
  push(s: Sample): void {
    const i = (this.#start + this.#count) % this.capacity;
    this.#ts[i] = Math.max(0, Math.round(s.timestamp));
    this.#cpu[i] = s.cpu;
    this.#mem[i] = s.memory;
    if (this.#count < this.capacity) this.#count++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** Samples with `start <= timestamp <= end`, oldest first. */
  range(start: number, end: number): Sample[] {
    const out: Sample[] = [];
    for (let k = 0; k < this.#count; k++) {
      const i = (this.#start + k) % this.capacity;
      const t = this.#ts[i]!;
      if (t >= start && t <= end) {
        out.push({ timestamp: t, cpu: this.#cpu[i]!, memory: this.#mem[i]! });
      }
    }
    return out;
  }

  /** The newest `n` samples (all of them if fewer), oldest first. */
  tail(n: number): Sample[] {
    const out: Sample[] = [];
    for (let k = Math.max(0, this.#count - n); k < this.#count; k++) {
      const i = (this.#start + k) % this.capacity;
      out.push({ timestamp: this.#ts[i]!, cpu: this.#cpu[i]!, memory: this.#mem[i]! });
    }
    return out;
  }

  /**
   * Little-endian binary: header then the records, oldest first. `omitNewest` leaves out the
   * newest samples (the consumption journal snapshots only what it has already journaled).
   */
  encode(omitNewest = 0): Uint8Array {
    const count = Math.max(0, this.#count - omitNewest);
    const buf = new ArrayBuffer(HEADER + count * RECORD);
    const v = new DataView(buf);
    v.setUint32(0, MAGIC, true);
    v.setUint32(4, this.capacity, true);
    v.setUint32(8, count, true);
    for (let k = 0; k < count; k++) {
      const i = (this.#start + k) % this.capacity;
      const o = HEADER + k * RECORD;
      v.setUint32(o, this.#ts[i]!, true);
      v.setFloat32(o + 4, this.#cpu[i]!, true);
      v.setFloat32(o + 8, this.#mem[i]!, true);
    }
    return new Uint8Array(buf);
  }

  /** Decodes {@linkcode Ring.encode} output into a ring of `capacity`; throws SyntaxError. */
  static decode(bytes: Uint8Array, capacity: number): Ring {
    if (bytes.length < HEADER) throw new SyntaxError(`Truncated ring: ${bytes.length} bytes`);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (v.getUint32(0, true) !== MAGIC) throw new SyntaxError("Not a consumption ring: bad magic");
    const count = v.getUint32(8, true);
    if (bytes.length !== HEADER + count * RECORD) {
      throw new SyntaxError(`Torn ring: ${count} records announced, ${bytes.length} bytes present`);
    }
    const ring = new Ring(capacity);
    for (let k = Math.max(0, count - capacity); k < count; k++) {
      const o = HEADER + k * RECORD;
      ring.push({
        timestamp: v.getUint32(o, true),
        cpu: v.getFloat32(o + 4, true),
        memory: v.getFloat32(o + 8, true),
      });
    }
    return ring;
  }
}
