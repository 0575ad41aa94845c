/**
 * A seeded random source in [0, 1) (mulberry32), the shape `Backoff` takes: lets the fleet
 * simulator, the backoff tests and the fault tier replay a run from its seed. Not for secrets.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./seeded_random.ts";
 * const a = seededRandom(1), b = seededRandom(1);
 * console.assert(a() === b());
 * ```
 *
 * @module
 */

/** A source of numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
