/**
 * One clock for the agent's periodic work (issue 15): the host sampler, the runtime stats
 * sampler, the heartbeat and the health file, the consumption persist and the reconcile timer
 * all run on one grid of instants (`epoch + k * period`), so work of different periods wakes the
 * process once, not once per timer.
 *
 * Why: an idle agent's CPU is the number of its wake-ups, not its work. Measured on the 2-core
 * test VM: a Deno process that only wakes every 5 s costs about 0.1 % of a core (about 5 ms per
 * wake-up: cold caches and the runtime's threads), while the work of one tick (two /proc reads,
 * one heartbeat frame, one small file) is well under a millisecond when warm. With a timer per
 * task (5 s, 5 s, 5 s, 30 s, 60 s, each at its own phase) the agent woke four to five times per
 * 5 s; on one grid it wakes once.
 *
 * The pure part is {@linkcode nextDue}; {@linkcode createTicker} is a thin edge over one
 * `setTimeout` at a time.
 *
 * @module
 */

/** Registers `fn` to run every `periodMs`; returns its cancellation. */
export type Every = (periodMs: number, fn: () => void) => () => void;

/** Tasks due within this of the earliest one run in the same wake-up: timers fire a little late
 * or early (sub-millisecond), and a task due 1 ms after another must not cost its own wake-up.
 * 25 ms is far below every period (1 s and up) and far below the heartbeat's own jitter. */
export const SLACK_MS = 25;

/**
 * The first instant of the grid `epoch + k * periodMs` strictly after `afterMs`. Pure.
 *
 * @example
 * ```ts
 * nextDue(1_000, 5_000, 1_000); // 6_000
 * nextDue(1_000, 5_000, 7_500); // 11_000
 * ```
 */
export function nextDue(epochMs: number, periodMs: number, afterMs: number): number {
  if (!(periodMs > 0)) throw new RangeError(`period must be > 0 ms, got ${periodMs}`);
  const k = Math.floor((afterMs - epochMs) / periodMs) + 1;
  return epochMs + k * periodMs;
}

/** What the ticker uses (injected in tests). */
export interface TickerClock {
  /** Unix ms. */
  now(): number;
  /** One timer at a time. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels it. */
  clearTimeout(id: unknown): void;
}

const realClock: TickerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** The shared clock. */
export interface Ticker {
  /** Runs `fn` at every grid instant of `periodMs` (first one after now). */
  every: Every;
  /** Cancels every task. */
  stop(): void;
}

interface Task {
  periodMs: number;
  fn: () => void;
  due: number;
}

/**
 * A ticker on the grid of `epochMs` (default: now). A task's exception is reported through
 * `onError` and does not stop the others or the ticker.
 */
export function createTicker(
  opts: { epochMs?: number; clock?: TickerClock; onError?: (err: unknown) => void } = {},
): Ticker {
  const clock = opts.clock ?? realClock;
  const epoch = opts.epochMs ?? clock.now();
  const tasks = new Set<Task>();
  let timer: unknown;
  let armedFor = Infinity;

  const arm = () => {
    let first = Infinity;
    for (const t of tasks) first = Math.min(first, t.due);
    if (first === armedFor) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    armedFor = first;
    if (first === Infinity) return;
    timer = clock.setTimeout(fire, Math.max(0, first - clock.now()));
  };

  const fire = () => {
    timer = undefined;
    armedFor = Infinity;
    const now = clock.now();
    const due = [...tasks].filter((t) => t.due <= now + SLACK_MS);
    // Each task's next instant is after now (a late wake-up skips missed instants: a stalled
    // event loop must not replay a burst of heartbeats).
    for (const t of due) t.due = nextDue(epoch, t.periodMs, Math.max(now, t.due));
    for (const t of due) {
      if (!tasks.has(t)) continue; // cancelled by an earlier task of this wake-up
      try {
        t.fn();
      } catch (err) {
        opts.onError?.(err);
      }
    }
    arm();
  };

  return {
    every(periodMs, fn) {
      const task: Task = { periodMs, fn, due: nextDue(epoch, periodMs, clock.now()) };
      tasks.add(task);
      arm();
      return () => {
        tasks.delete(task);
        arm();
      };
    },
    stop() {
      tasks.clear();
      arm();
    },
  };
}

/** `every` over plain intervals (one timer per task): the default where no ticker is injected. */
export const intervalEvery: Every = (periodMs, fn) => {
  const id = setInterval(fn, periodMs);
  return () => clearInterval(id);
};
