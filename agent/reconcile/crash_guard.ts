/**
 * Crash-loop guard: a runtime whose container Docker restarted more than `maxRestarts` times
 * within `windowMs` is left stopped and reported instead of being restarted forever (a PLC that
 * crashes every few seconds toggles its outputs each time; stopped is safer). Pure: the caller
 * feeds Docker's `RestartCount` and the time.
 *
 * @module
 */

/** 5 restarts in 10 minutes: Docker's own restart back-off (100 ms doubling, capped at 1 min)
 * reaches 5 restarts in about 3 s and stays above one a minute, so a healthy runtime that crashes
 * once in a while is never caught, a crash loop is caught within minutes. */
export const DEFAULT_MAX_RESTARTS = 5;
/** See {@linkcode DEFAULT_MAX_RESTARTS}. */
export const DEFAULT_WINDOW_MS = 10 * 60_000;

/** Tracks restart counts per runtime. */
export class CrashGuard {
  #history = new Map<string, { at: number; count: number }[]>();
  #tripped = new Set<string>();

  /** Builds a guard. */
  constructor(
    readonly maxRestarts: number = DEFAULT_MAX_RESTARTS,
    readonly windowMs: number = DEFAULT_WINDOW_MS,
  ) {}

  /** Records an observed restart count; returns true when the runtime is (now) crash-looping. */
  observe(runtime: string, restartCount: number, now: number): boolean {
    if (this.#tripped.has(runtime)) return true;
    const h = (this.#history.get(runtime) ?? []).filter((e) => now - e.at <= this.windowMs);
    // A count lower than before means the container was re-created: start over.
    if (h.length && restartCount < h[h.length - 1]!.count) h.length = 0;
    h.push({ at: now, count: restartCount });
    this.#history.set(runtime, h);
    if (restartCount - h[0]!.count > this.maxRestarts) {
      this.#tripped.add(runtime);
      return true;
    }
    return false;
  }

  /** Runtimes currently held stopped. */
  tripped(): ReadonlySet<string> {
    return this.#tripped;
  }

  /** Forgets a runtime (the cloud started, restarted or deleted it). */
  clear(runtime: string): void {
    this.#tripped.delete(runtime);
    this.#history.delete(runtime);
  }
}
