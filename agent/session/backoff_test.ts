import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";

function fake(random = 0.999) {
  const clock = { t: 0 };
  return { clock, b: new Backoff(() => clock.t, () => random) };
}

Deno.test("backoff: fixed 5 s retry until first accepted", () => {
  const { b } = fake();
  for (let i = 0; i < 10; i++) assert.equal(b.disconnected(), 5_000);
});

Deno.test("backoff: exponential full jitter capped at 30 s after acceptance", () => {
  const { b, clock } = fake(0.999);
  b.connected();
  // The clock moves on by each delay, as it does between real attempts: the window is twice the
  // time since the trouble began, so it grows geometrically, up to the cap.
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const d = b.disconnected();
    delays.push(d);
    clock.t += d;
  }
  assert.deepEqual(delays, [999, 1996, 5984, 17940, 29970, 29970, 29970, 29970]);
});

Deno.test("backoff: a fleet that lost the cloud together has one window at each moment", () => {
  // Two agents, different luck: whatever their attempt counts, at the same instant they draw
  // from the same window, which is what spreads a fleet's reconnections evenly.
  const clock = { t: 0 };
  const lucky = new Backoff(() => clock.t, () => 0.01);
  const unlucky = new Backoff(() => clock.t, () => 0.99);
  lucky.connected();
  unlucky.connected();
  lucky.disconnected();
  unlucky.disconnected();
  for (let i = 0; i < 5; i++) lucky.disconnected();
  clock.t = 4_000;
  assert.equal(lucky.maxDelayMs, unlucky.maxDelayMs);
  assert.equal(lucky.maxDelayMs, 8_000);
});

Deno.test("backoff: full jitter can give 0", () => {
  const { b } = fake(0);
  b.connected();
  assert.equal(b.disconnected(), 0);
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
  assert.equal(b.maxDelayMs, 30_000, "66 s of trouble: the window is at the cap");
});

Deno.test("backoff: counter resets after the link stayed up 60 s", () => {
  const { b, clock } = fake(0.5);
  b.connected();
  for (let i = 0; i < 5; i++) {
    clock.t += 10_000;
    b.disconnected();
  }
  assert.equal(b.maxDelayMs, 30_000);
  b.connected();
  clock.t += 60_000;
  assert.equal(b.disconnected(), 500);
  assert.equal(b.state.attempt, 1);
});
