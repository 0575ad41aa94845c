import assert from "node:assert/strict";
import { parsePeriod } from "../../contracts/mod.ts";
import { CAPACITY, Consumption, HOST_KEY } from "./consumption.ts";
import { downsample } from "./downsample.ts";
import { Ring } from "./ring.ts";

Deno.test("capacity is 48 h of 5 s samples", () => assert.equal(CAPACITY, 34_560));

Deno.test("period table resolves against now", () => {
  const now = 1_000_000;
  const table: [string, { start: number; end: number } | null][] = [
    ["1h", { start: now - 3600, end: now }],
    ["30m", { start: now - 1800, end: now }],
    ["2d", { start: now - 172_800, end: now }],
    ["90", { start: now - 90, end: now }],
    ["100,200", { start: 100, end: 200 }],
    ["200,100", null],
    ["-1h", null],
    ["0", null],
    ["abc", null],
  ];
  for (const [text, want] of table) assert.deepEqual(parsePeriod(text, now), want, text);
});

Deno.test("downsample: bounded, even buckets, means", () => {
  const s = Array.from({ length: 1000 }, (_, i) => ({ timestamp: i, cpu: i % 2, memory: 10 }));
  const d = downsample(s, 500);
  assert.equal(d.length, 500);
  assert.deepEqual(d[0], { timestamp: 1, cpu: 0.5, memory: 10 });
  assert.equal(d.at(-1)!.timestamp, 999);
  assert.equal(downsample(s.slice(0, 10), 500).length, 10);
  assert.equal(downsample(s, 7).length, 7);
});

Deno.test("ring overwrites the oldest and keeps order", () => {
  const r = new Ring(3);
  for (let t = 1; t <= 5; t++) r.push({ timestamp: t, cpu: t, memory: t });
  assert.deepEqual(r.range(0, 100).map((s) => s.timestamp), [3, 4, 5]);
  assert.equal(r.last, 5);
});

Deno.test("ring encodes and decodes; torn bytes are refused", () => {
  const r = new Ring(10);
  for (let t = 1; t <= 4; t++) r.push({ timestamp: t, cpu: t / 2, memory: t * 2 });
  const bytes = r.encode();
  assert.deepEqual(Ring.decode(bytes, 10).range(0, 10), r.range(0, 10));
  assert.throws(() => Ring.decode(bytes.subarray(0, bytes.length - 3), 10), SyntaxError);
  assert.throws(() => Ring.decode(new Uint8Array(20), 10), SyntaxError);
});

Deno.test("store: record, query range, forget, keys, ms timestamps", () => {
  const c = new Consumption(null, { capacity: 100 });
  c.record(HOST_KEY, { timestamp: 100, cpu: 1, memory: 2 });
  c.record(HOST_KEY, { timestamp: 1_700_000_105_000, cpu: 3, memory: 4 }); // ms
  c.record("plc1", { timestamp: 100, cpu: 50, memory: 64 });
  c.record("plc1", { timestamp: 101, cpu: NaN, memory: 64 }); // dropped
  assert.deepEqual(c.keys().sort(), [HOST_KEY, "plc1"]);
  assert.deepEqual(c.query(HOST_KEY, { start: 101, end: 2e9 }), [{
    timestamp: 1_700_000_105,
    cpu: 3,
    memory: 4,
  }]);
  assert.equal(c.query("plc1", { start: 0, end: 200 }).length, 1);
  c.forget("plc1");
  assert.deepEqual(c.keys(), [HOST_KEY]);
  assert.deepEqual(c.query("plc1", { start: 0, end: 200 }), []);
});
