/**
 * How a plan's steps run: each runtime's steps in order in its own lane (one operation per
 * runtime at a time), lanes side by side with a bound; then the parent batches (re-wiring, which
 * spans runtimes); then the global steps one by one. A lane stops at its first failure, or when a
 * step asks to wait (a background pull): the next pass plans again from what is then observed.
 *
 * @module
 */
import { laneOf, type Step } from "./types.ts";

/** Outcome of one step. */
export interface StepOutcome {
  /** Failures, by runtime (empty when it worked). */
  failures: { runtime: string | null; error: string }[];
  /** The step cannot finish yet (nothing failed): the lane stops, a later pass goes on. */
  wait?: boolean;
}

/** One step with its outcome. */
export interface StepResult extends StepOutcome {
  /** The step. */
  step: Step;
}

/** Runs `fn` over `items` with at most `limit` in flight; never rejects. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Groups steps into ordered lanes: runtime lanes, parent lanes, then one global lane. Pure. */
export function groupLanes(
  steps: Step[],
): { runtimes: Step[][]; parents: Step[][]; global: Step[] } {
  const runtimes = new Map<string, Step[]>();
  const parents = new Map<string, Step[]>();
  const global: Step[] = [];
  for (const s of steps) {
    const lane = laneOf(s);
    if (lane.kind === "runtime") {
      runtimes.set(lane.runtime, [...(runtimes.get(lane.runtime) ?? []), s]);
    } else if (lane.kind === "parent") {
      parents.set(lane.parent, [...(parents.get(lane.parent) ?? []), s]);
    } else global.push(s);
  }
  return { runtimes: [...runtimes.values()], parents: [...parents.values()], global };
}

/** Runs the steps lane by lane; resolves when every started step has finished (also after an
 * abort: nothing of this run is still in flight when it resolves). */
export async function runLanes(
  steps: Step[],
  limit: number,
  run: (step: Step) => Promise<StepOutcome>,
  signal: AbortSignal,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const lane = async (ordered: Step[]) => {
    for (const step of ordered) {
      if (signal.aborted) return;
      const out = await run(step);
      results.push({ step, ...out });
      if (out.failures.length > 0 || out.wait) return;
    }
  };
  const { runtimes, parents, global } = groupLanes(steps);
  await mapLimit(runtimes, limit, lane);
  await mapLimit(parents, limit, lane);
  for (const step of global) {
    if (signal.aborted) break;
    results.push({ step, ...await run(step) });
  }
  return results;
}
