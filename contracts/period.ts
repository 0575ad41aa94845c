/**
 * Period strings of the consumption topics (protocol.md §3): `"<start>,<end>"` in unix seconds,
 * `"<n>h"`, `"<n>m"`, `"<n>d"`, or `"<n>"` seconds back from now.
 *
 * @module
 */
import { z } from "zod";

/** A resolved time range in unix seconds, `start <= end`. */
export interface TimeRange {
  /** First second of the range (inclusive). */
  start: number;
  /** Last second of the range (inclusive). */
  end: number;
}

const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };
/** Longest relative period accepted: buffers hold 48 h, a year is generous and still sane. */
const MAX_SECONDS = 366 * 86400;

/**
 * Resolves a period string against `now` (unix seconds). Returns null when the string is not a
 * period. Pure: the clock is an argument.
 *
 * @example
 * ```ts
 * import { parsePeriod } from "@edge-orchestrator/contracts";
 * console.assert(parsePeriod("1h", 10_000)?.start === 6_400);
 * console.assert(parsePeriod("100,200", 10_000)?.end === 200);
 * console.assert(parsePeriod("soon", 10_000) === null);
 * ```
 */
export function parsePeriod(period: string, now: number): TimeRange | null {
  const text = period.trim();
  const range = /^(\d{1,12}(?:\.\d+)?)\s*,\s*(\d{1,12}(?:\.\d+)?)$/.exec(text);
  if (range) {
    const start = Number(range[1]);
    const end = Number(range[2]);
    return start <= end ? { start, end } : null;
  }
  const rel = /^(\d{1,9})\s*([smhd]?)$/.exec(text);
  if (!rel) return null;
  const seconds = Number(rel[1]) * UNIT_SECONDS[rel[2] ?? ""]!;
  if (seconds <= 0 || seconds > MAX_SECONDS) return null;
  return { start: now - seconds, end: now };
}

/**
 * Schema of a period string (validated against a fixed clock; the range is resolved later with
 * {@linkcode parsePeriod}).
 *
 * @example
 * ```ts
 * import { Period } from "@edge-orchestrator/contracts";
 * console.assert(Period.safeParse("24h").success && !Period.safeParse("-1h").success);
 * ```
 */
export const Period: z.ZodType<string> = z.string().refine(
  (s) => parsePeriod(s, 2_000_000_000) !== null,
  'must be "<start>,<end>" in unix seconds, "<n>h", "<n>m", "<n>d" or "<n>" seconds',
);
