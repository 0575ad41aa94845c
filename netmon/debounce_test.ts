import assert from "node:assert/strict";
import { FakeClock } from "./_fake_clock.ts";
import { Debouncer } from "./debounce.ts";

function setup(delay = 3000) {
  const clock = new FakeClock();
  let settled = 0;
  const d = new Debouncer(delay, () => settled++, clock);
  return { clock, d, settled: () => settled };
}

Deno.test("one event settles after exactly the delay", () => {
  const { clock, d, settled } = setup();
  d.poke();
  clock.advance(2999);
  assert.equal(settled(), 0);
  clock.advance(1);
  assert.equal(settled(), 1);
  assert.equal(d.pending, false);
});

Deno.test("a burst settles once, the delay after its last event", () => {
  const { clock, d, settled } = setup();
  for (let i = 0; i < 200; i++) {
    d.poke();
    clock.advance(10);
  }
  assert.equal(settled(), 0);
  clock.advance(2990 - 1);
  assert.equal(settled(), 0);
  clock.advance(1);
  assert.equal(settled(), 1);
  clock.advance(60_000);
  assert.equal(settled(), 1);
});

Deno.test("a burst that never ends still settles at the maximum wait (10 delays)", () => {
  const { clock, d, settled } = setup(300);
  for (let t = 0; t < 2900; t += 100) {
    d.poke(); // every 100 ms: the 300 ms quiet period never comes
    clock.advance(100);
  }
  assert.equal(settled(), 0);
  d.poke();
  clock.advance(99);
  assert.equal(settled(), 0);
  clock.advance(1);
  assert.equal(settled(), 1); // at 3000 ms = 10 x 300 after the first poke
  d.poke(); // the next burst starts afresh
  clock.advance(299);
  assert.equal(settled(), 1);
  clock.advance(1);
  assert.equal(settled(), 2);
});

Deno.test("cancel drops a pending burst and leaves no timer", () => {
  const { clock, d, settled } = setup();
  d.poke();
  d.cancel();
  assert.equal(clock.pending, 0);
  clock.advance(10_000);
  assert.equal(settled(), 0);
});

Deno.test("zero delay settles on the next timer turn", () => {
  const { clock, d, settled } = setup(0);
  d.poke();
  assert.equal(settled(), 0);
  clock.advance(0);
  assert.equal(settled(), 1);
});
