/**
 * Pure trailing-edge debounce with a maximum wait, on an injected clock (faked in the tests).
 *
 * @module
 */

/** The timer part of a clock; `globalThis` satisfies it. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as number),
};

/**
 * An event burst never settling (a flapping link, a DHCP client looping) must not hide changes
 * forever: publish at the latest this many debounce periods after the burst began. Ten periods
 * (30 s by default) is long enough for any scripted batch to finish first.
 */
export const MAX_WAIT_FACTOR = 10;

/**
 * Calls `settle` once `delayMs` passed without a `poke`, or `maxWaitMs` after the first poke of a
 * burst, whichever comes first. `settle` is never called twice for one burst.
 */
export class Debouncer {
  #timer: unknown = null;
  #burstStart = 0;

  constructor(
    readonly delayMs: number,
    readonly settle: () => void,
    readonly clock: Clock = systemClock,
    readonly maxWaitMs: number = delayMs * MAX_WAIT_FACTOR,
  ) {}

  /** Whether a burst is waiting to settle. */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** Records an event: (re)starts the quiet period. */
  poke(): void {
    const now = this.clock.now();
    if (this.#timer === null) this.#burstStart = now;
    else this.clock.clearTimeout(this.#timer);
    const due = Math.min(now + this.delayMs, this.#burstStart + this.maxWaitMs);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null;
      this.settle();
    }, Math.max(0, due - now));
  }

  /** Drops a pending burst without settling it (shutdown). */
  cancel(): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
