import assert from "node:assert/strict";
import { createTicker, nextDue, SLACK_MS, type TickerClock } from "./ticker.ts";

Deno.test("nextDue: the first grid instant strictly after", () => {
  const table: [number, number, number, number][] = [
    // epoch, period, after, expected
    [0, 5_000, 0, 5_000],
    [0, 5_000, 4_999, 5_000],
    [0, 5_000, 5_000, 10_000],
    [1_000, 5_000, 1_000, 6_000],
    [1_000, 5_000, 7_500, 11_000],
    [1_000, 30_000, 0, 1_000], // before the epoch: the grid extends backwards
    [0, 1_500, 3_100, 4_500],
  ];
  for (const [epoch, period, after, want] of table) {
    assert.deepEqual(nextDue(epoch, period, after), want, `${epoch} ${period} ${after}`);
  }
  assert.throws(() => nextDue(0, 0, 1), RangeError);
  assert.throws(() => nextDue(0, NaN, 1), RangeError);
});

/** A clock with one pending timer that the test advances by hand; counts wake-ups. */
function fakeClock(start = 0) {
  let now = start;
  let pending: { id: number; at: number; fn: () => void } | null = null;
  let nextId = 1;
  let wakeups = 0;
  const clock: TickerClock = {
    now: () => now,
    setTimeout(fn, ms) {
      if (pending) throw new Error("the ticker must hold one timer at a time");
      pending = { id: nextId++, at: now + ms, fn };
      return pending.id;
    },
    clearTimeout(id) {
      if (pending?.id === id) pending = null;
    },
  };
  return {
    clock,
    get wakeups() {
      return wakeups;
    },
    get pendingAt() {
      return pending?.at ?? null;
    },
    /** Advances to `until`, firing the timer whenever it is due (optionally `lateMs` late). */
    run(until: number, lateMs = 0) {
      while (pending && pending.at + lateMs <= until) {
        const p = pending;
        pending = null;
        now = p.at + lateMs;
        wakeups++;
        p.fn();
      }
      now = until;
    },
  };
}

Deno.test("ticker: tasks of 5, 5, 5, 30 and 60 s wake the process once per 5 s", () => {
  const f = fakeClock(1_000);
  const t = createTicker({ clock: f.clock });
  const runs: Record<string, number[]> = { a: [], b: [], c: [], r: [], p: [] };
  const add = (k: string, period: number) =>
    t.every(period, () => runs[k]!.push(f.clock.now() - 1_000));
  add("a", 5_000);
  add("b", 5_000);
  add("c", 5_000);
  add("r", 30_000);
  add("p", 60_000);
  f.run(1_000 + 120_000);
  assert.deepEqual(f.wakeups, 24);
  assert.deepEqual(runs.a!.length, 24);
  assert.deepEqual(runs.b, runs.a);
  assert.deepEqual(runs.c, runs.a);
  assert.deepEqual(runs.r, [30_000, 60_000, 90_000, 120_000]);
  assert.deepEqual(runs.p, [60_000, 120_000]);
  t.stop();
  assert.deepEqual(f.pendingAt, null);
});

Deno.test("ticker: a task registered later joins the same grid", () => {
  const f = fakeClock(0);
  const t = createTicker({ clock: f.clock });
  const seen: number[] = [];
  t.every(5_000, () => {});
  f.run(2_300);
  t.every(5_000, () => seen.push(f.clock.now()));
  f.run(20_000);
  assert.deepEqual(seen, [5_000, 10_000, 15_000, 20_000]);
  assert.deepEqual(f.wakeups, 4);
  t.stop();
});

Deno.test("ticker: a wake-up within the slack runs the task once; a late one skips missed instants", () => {
  const f = fakeClock(0);
  const t = createTicker({ clock: f.clock });
  const seen: number[] = [];
  t.every(1_000, () => seen.push(f.clock.now()));
  f.run(3_000, SLACK_MS - 5); // every wake-up a little late
  assert.deepEqual(seen, [1_020, 2_020]);
  // The event loop stalls for 4.5 s: one run, then back on the grid.
  const more: number[] = [];
  t.stop();
  t.every(1_000, () => more.push(f.clock.now()));
  f.run(3_000);
  f.run(10_000, 4_500);
  assert.deepEqual(more[0], 8_500); // the instant 4_000 fired 4.5 s late
  t.stop();
});

Deno.test("ticker: a throwing task is reported and the others still run", () => {
  const f = fakeClock(0);
  const errors: unknown[] = [];
  const t = createTicker({ clock: f.clock, onError: (e) => errors.push(e) });
  let ran = 0;
  t.every(1_000, () => {
    throw new Error("boom");
  });
  t.every(1_000, () => ran++);
  f.run(3_000);
  assert.deepEqual(ran, 3);
  assert.deepEqual(errors.length, 3);
  t.stop();
});

Deno.test("ticker: cancelling the last task leaves no timer; a task can cancel another", () => {
  const f = fakeClock(0);
  const t = createTicker({ clock: f.clock });
  let bRuns = 0;
  let cancelB = () => {};
  t.every(1_000, () => cancelB());
  cancelB = t.every(1_000, () => bRuns++);
  f.run(5_000);
  assert.deepEqual(bRuns, 0);
  const stopA = t.every(7_000, () => {});
  t.stop();
  stopA();
  assert.deepEqual(f.pendingAt, null);
});
