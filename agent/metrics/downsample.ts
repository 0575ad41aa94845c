/**
 * Evenly downsampling a series to a bounded number of points, pure.
 *
 * @module
 */

/** One consumption sample: unix seconds, CPU %, memory MB. */
export interface Sample {
  /** Unix seconds. */
  timestamp: number;
  /** CPU in % (host: of all cores; runtime: of one core). */
  cpu: number;
  /** Memory in MB. */
  memory: number;
}

/** Default bound on points per series: 500 keeps an ack under ~30 KB and plots fine. */
export const DEFAULT_MAX_POINTS = 500;

/**
 * Splits `samples` into `max` contiguous, evenly sized buckets and returns one point per bucket:
 * the bucket's mean CPU and memory at its last timestamp. Returns the input when it already fits.
 */
export function downsample(samples: Sample[], max: number): Sample[] {
  const n = samples.length;
  if (max < 1) return [];
  if (n <= max) return samples;
  const out: Sample[] = [];
  for (let b = 0; b < max; b++) {
    const from = Math.floor((b * n) / max);
    const to = Math.floor(((b + 1) * n) / max);
    let cpu = 0;
    let memory = 0;
    for (let i = from; i < to; i++) {
      cpu += samples[i]!.cpu;
      memory += samples[i]!.memory;
    }
    const count = to - from;
    out.push({ timestamp: samples[to - 1]!.timestamp, cpu: cpu / count, memory: memory / count });
  }
  return out;
}

/** Rounds to one decimal (the precision of every figure on the wire). */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
