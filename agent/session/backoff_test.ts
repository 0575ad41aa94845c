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
  const { b } = fake(0.999);
  b.connected();
  const delays = Array.from({ length: 8 }, () => b.disconnected());
  assert.deepEqual(delays, [999, 1998, 3996, 7992, 15984, 29970, 29970, 29970]);
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
  assert.equal(b.maxDelayMs, 30_000);
});

Deno.test("backoff: counter resets after the link stayed up 60 s", () => {
  const { b, clock } = fake(0.5);
  b.connected();
  for (let i = 0; i < 5; i++) b.disconnected();
  b.connected();
  clock.t += 60_000;
  assert.equal(b.disconnected(), 500);
  assert.equal(b.state.attempt, 1);
});
