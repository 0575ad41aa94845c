import assert from "node:assert/strict";
import { Backoff, nextRung } from "./backoff.ts";
import { seededRandom as seeded } from "./seeded_random.ts";

function fake(random = 0.5) {
  const clock = { t: 0 };
  return { clock, b: new Backoff(() => clock.t, () => random) };
}

Deno.test("backoff: fixed 5 s retry until first accepted", () => {
  const { b } = fake();
  for (let i = 0; i < 10; i++) assert.equal(b.disconnected(), 5_000);
});

Deno.test("backoff: nextRung walks the ladder, then steps by the cap", () => {
  // phase 0.5: rungs 2^(k + 0.5) - 1 s = 0.4142, 1.8284, 4.6569, 10.3137, 21.6274, 44.2548 s, in
  // whole ms rounded up; the gap after 21.628 s would be 22.6 s and the one after 44.255 s 45 s,
  // over the cap, so after 21.628 s the rungs are the grid 30 s x (n + 0.5).
  const table: [number, number][] = [
    [0, 415],
    [414, 415],
    [415, 1_829],
    [1_000, 1_829],
    [4_656, 4_657],
    [10_314, 21_628],
    [21_628, 45_000],
    [44_255, 45_000],
    [45_000, 75_000],
    [74_999, 75_000],
    [1_000_000, 1_005_000],
    [-5, 415],
  ];
  for (const [el, want] of table) assert.equal(nextRung(el, 0.5, 1_000, 30_000), want, `at ${el}`);
  // Phase 0 has a rung at 0: "strictly after" moves on to the next.
  assert.equal(nextRung(0, 0, 1_000, 30_000), 1_000);
});

Deno.test("backoff: nextRung is strictly after, and gaps never pass the cap (sweep)", () => {
  const rnd = seeded(7);
  for (let i = 0; i < 5_000; i++) {
    const phase = rnd();
    const el = Math.floor(rnd() * 200_000);
    const r = nextRung(el, phase, 1_000, 30_000);
    assert.ok(r > el, `rung ${r} after ${el}`);
    // On the ladder (which ends between 14 and 29 s) a gap is its rung's time plus 1 s; after
    // it, the grid's gaps are 30 s.
    const bound = el < 14_000 ? el + 1_000 + 1 : 30_000;
    assert.ok(r - el <= bound, `gap ${r - el} at ${el}`);
  }
});

Deno.test("backoff: attempts climb the ladder up to the 30 s cap after acceptance", () => {
  const { b, clock } = fake(0.5);
  b.connected();
  // The clock moves on by each delay, as it does between real attempts.
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const d = b.disconnected();
    delays.push(d);
    clock.t += d;
  }
  assert.deepEqual(delays, [415, 1_414, 2_828, 5_657, 11_314, 23_372, 30_000, 30_000, 30_000]);
});

Deno.test("backoff: a slow failed attempt goes to the next rung, the schedule does not shift", () => {
  const { b, clock } = fake(0.5);
  b.connected();
  b.disconnected(); // trouble begins at 0
  clock.t = 3_000; // the attempt at 414 ms hung until 3 s
  assert.equal(b.disconnected(), 4_657 - 3_000);
});

Deno.test("backoff: a fleet that lost the cloud together comes back evenly spread", () => {
  // 1,000 agents drop at 0; each keeps failing at its rungs until the cloud is back at T. Their
  // pending attempts at T are their reconnections: peak/mean of the per-second counts over the
  // window they span stays near the theory's 1 / ln 2 = 1.44 (per-attempt uniform jitter: ~3).
  const rnd = seeded(1);
  for (const T of [5_000, 20_000, 60_000, 300_000]) {
    const back: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      let t = 0;
      const b = new Backoff(() => t, rnd);
      b.connected();
      t = 100_000_000; // linked long ago: stable
      const start = t;
      for (;;) {
        t += b.disconnected();
        if (t - start >= T) break;
      }
      back.push(t - start - T);
    }
    const last = Math.max(...back);
    const bound = T < 14_000 ? T + 1_000 : 30_000;
    assert.ok(last <= bound, `all back ${last} ms after T=${T}`);
    const bins = new Array(Math.max(1, Math.ceil(last / 1_000))).fill(0);
    for (const x of back) bins[Math.floor(x / 1_000)]++;
    const ratio = Math.max(...bins) / (1_000 / bins.length);
    assert.ok(ratio < 2, `T=${T}: peak/mean ${ratio.toFixed(2)}`);
  }
});

Deno.test("backoff: a connect-then-drop loop keeps backing off", () => {
  const { b, clock } = fake(0.5);
  b.connected();
  for (let i = 0; i < 6; i++) {
    clock.t += 1_000;
    b.disconnected();
    b.connected();
    clock.t += 10_000; // up for 10 s only: not stable
  }
  assert.equal(b.state.attempt, 6);
  assert.equal(b.maxDelayMs, 30_000, "66 s of trouble: the gap is at the cap");
  assert.ok(b.disconnected() <= 30_000);
});

Deno.test("backoff: ladder and phase restart after the link stayed up 60 s", () => {
  let r = 0.5;
  const clock = { t: 0 };
  const b = new Backoff(() => clock.t, () => r);
  b.connected();
  for (let i = 0; i < 5; i++) {
    clock.t += 10_000;
    b.disconnected();
  }
  assert.equal(b.maxDelayMs, 30_000);
  b.connected();
  clock.t += 60_000;
  r = 0.25; // a new run of trouble draws a new phase: first rung 2^0.25 - 1 s
  assert.equal(b.disconnected(), 190);
  assert.equal(b.state.attempt, 1);
  assert.equal(b.state.phase, 0.25);
});
