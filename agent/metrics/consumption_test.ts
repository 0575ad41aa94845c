import assert from "node:assert/strict";
import { parsePeriod } from "../../contracts/mod.ts";
import { CAPACITY, Consumption, HOST_KEY } from "./consumption.ts";
import { encodeBatch, encodeRecords } from "./journal.ts";
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

// --- Persistence (snapshots + journal). These need --allow-write, which the read-only unit run
// does not grant; tests/project_write_units_test.ts runs them in the tier.

const canWrite = Deno.permissions.querySync({ name: "write" }).state === "granted";
const ALL = { start: 0, end: 2 ** 32 };
const JOURNAL = "journal.log";

/** A test with a fresh temp dir, removed afterwards. */
function fileTest(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !canWrite,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "consumption_" });
      try {
        await fn(dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** Records one sample per timestamp (cpu and memory derived from it, exact in f32). */
function rec(c: Consumption, key: string, ts: number[]): void {
  for (const t of ts) c.record(key, { timestamp: t, cpu: t / 4, memory: t * 2 });
}

function state(c: Consumption): Record<string, number[]> {
  return Object.fromEntries(
    c.keys().sort().map((k) => [k, c.query(k, ALL, 1e9).map((s) => s.timestamp)]),
  );
}

function fullState(c: Consumption): Record<string, unknown> {
  return Object.fromEntries(c.keys().sort().map((k) => [k, c.query(k, ALL, 1e9)]));
}

async function restored(dir: string, opts: ConstructorParameters<typeof Consumption>[1] = {}) {
  const c = new Consumption(dir, { capacity: 100, ...opts });
  await c.restore();
  return c;
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

const size = async (path: string) => (await Deno.stat(path)).size;

class CaptureLog {
  lines: string[] = [];
  debug() {}
  info() {}
  warn(m: string) {
    this.lines.push(`WARN ${m}`);
  }
  error(m: string) {
    this.lines.push(`ERROR ${m}`);
  }
}

fileTest("persist appends to one journal; a new store restores the same buffers", async (dir) => {
  const c = new Consumption(dir, { capacity: 100 });
  rec(c, HOST_KEY, [1, 2, 3]);
  rec(c, "plc 1/ü", [1]);
  await c.persist();
  rec(c, HOST_KEY, [4]);
  rec(c, "plc2", Array.from({ length: 150 }, (_, i) => 10 + i)); // wraps the ring of 100
  await c.persist();
  assert.deepEqual(await listing(dir), [JOURNAL]);
  const d = await restored(dir);
  assert.deepEqual(fullState(d), fullState(c));
  assert.equal(state(d).plc2!.length, 100);
  assert.equal(state(d).plc2![0], 60);
});

fileTest("a torn last batch, cut at every byte: earlier batches kept, journal cut", async (dir) => {
  const c = new Consumption(dir, { capacity: 100 });
  rec(c, "a", [1, 2]);
  await c.persist();
  rec(c, "a", [3]);
  c.forget("b");
  await c.persist();
  const start = await size(`${dir}/${JOURNAL}`);
  const want = state(c);
  rec(c, "a", [4]);
  await c.persist();
  const full = await Deno.readFile(`${dir}/${JOURNAL}`);
  assert.ok(full.length > start);
  for (let cut = start + 1; cut < full.length; cut++) {
    await Deno.writeFile(`${dir}/${JOURNAL}`, full.subarray(0, cut));
    const log = new CaptureLog();
    const d = await restored(dir, { log });
    assert.deepEqual(state(d), want, `cut at ${cut}`);
    assert.equal(await size(`${dir}/${JOURNAL}`), start, `cut at ${cut}`);
    assert.equal(log.lines.length, 1, `cut at ${cut}: ${log.lines}`);
    assert.match(log.lines[0]!, new RegExp(`^WARN .*torn batch.* at byte ${start} of ${cut};`));
    rec(d, "a", [5]);
    await d.persist();
    assert.deepEqual(state(await restored(dir)), { a: [1, 2, 3, 5] }, `cut at ${cut}`);
  }
});

fileTest("a flipped bit in a middle batch ends the replay before it", async (dir) => {
  const c = new Consumption(dir, { capacity: 100 });
  rec(c, "a", [1]);
  await c.persist();
  const first = await size(`${dir}/${JOURNAL}`);
  rec(c, "a", [2]);
  rec(c, "b", [2]);
  await c.persist();
  rec(c, "a", [3]);
  await c.persist();
  const bytes = await Deno.readFile(`${dir}/${JOURNAL}`);
  bytes[first + 20]! ^= 0x10;
  await Deno.writeFile(`${dir}/${JOURNAL}`, bytes);
  const log = new CaptureLog();
  const d = await restored(dir, { log });
  assert.deepEqual(state(d), { a: [1] });
  assert.equal(await size(`${dir}/${JOURNAL}`), first);
  assert.deepEqual(log.lines.length, 1);
  assert.match(log.lines[0]!, new RegExp(`CRC mismatch at byte ${first} of ${bytes.length}`));
});

fileTest("bytes a failed append left behind are cut before the next append", async (dir) => {
  const log = new CaptureLog();
  const c = new Consumption(dir, { capacity: 100, log });
  rec(c, "a", [1]);
  await c.persist();
  const good = await size(`${dir}/${JOURNAL}`);
  const f = await Deno.open(`${dir}/${JOURNAL}`, { append: true });
  await f.write(new Uint8Array([0x45, 0x4f, 0x4a, 0x31, 7, 7])); // half a batch header
  f.close();
  rec(c, "a", [2]);
  await c.persist();
  assert.deepEqual(log.lines, [
    `WARN Cutting ${dir}/${JOURNAL} back from ${good + 6} to ${good} bytes`,
  ]);
  const restoreLog = new CaptureLog();
  assert.deepEqual(state(await restored(dir, { log: restoreLog })), { a: [1, 2] });
  assert.deepEqual(restoreLog.lines, []);
});

fileTest(
  "a crash between compaction's snapshots and the journal reset duplicates nothing",
  async (dir) => {
    // Batches of two keys with five samples each are 148 bytes: the fourth persist passes 500.
    const c = new Consumption(dir, { capacity: 100, journalLimit: 500 });
    let t = 0;
    for (let i = 0; i < 3; i++) {
      rec(c, "a", [t++, t++, t++, t++, t++]);
      rec(c, "b", [t++, t++, t++, t++, t++]);
      await c.persist();
    }
    const before = await Deno.readFile(`${dir}/${JOURNAL}`);
    assert.ok(before.length < 500);
    const last = [t++, t++, t++, t++, t++];
    rec(c, "a", last);
    await c.persist(); // appends, then compacts
    assert.deepEqual(await listing(dir), [JOURNAL, "a.bin", "b.bin"].sort());
    assert.equal(await size(`${dir}/${JOURNAL}`), 0);
    const want = fullState(c);
    assert.deepEqual(fullState(await restored(dir)), want);
    const snapshots = {
      a: await Deno.readFile(`${dir}/a.bin`),
      b: await Deno.readFile(`${dir}/b.bin`),
    };
    // The journal as it was when the box stopped: the batches, the last one, the marker.
    const appended = encodeBatch([{
      kind: "samples",
      key: "a",
      records: encodeRecords(last.map((t) => ({ timestamp: t, cpu: t / 4, memory: t * 2 }))),
    }]);
    const crashed = new Uint8Array([
      ...before,
      ...appended,
      ...encodeBatch([{ kind: "compaction" }]),
    ]);
    const cases: [string, string[]][] = [
      ["both snapshots written", ["a", "b"]],
      ["one snapshot written", ["a"]],
      ["the other one written", ["b"]],
      ["none written yet", []],
    ];
    for (const [name, written] of cases) {
      for (const key of ["a", "b"] as const) {
        if (written.includes(key)) await Deno.writeFile(`${dir}/${key}.bin`, snapshots[key]);
        else await Deno.remove(`${dir}/${key}.bin`).catch(() => {});
      }
      await Deno.writeFile(`${dir}/${JOURNAL}`, crashed);
      const log = new CaptureLog();
      const d = await restored(dir, { log, journalLimit: 500 });
      assert.deepEqual(fullState(d), want, name);
      assert.deepEqual(log.lines, [], name);
      // The next persist appends and compacts (the journal is past its limit): still no duplicate.
      rec(d, "b", [1000]);
      await d.persist();
      assert.equal(await size(`${dir}/${JOURNAL}`), 0, name);
      assert.deepEqual(
        state(await restored(dir)),
        { ...state(c), b: [...state(c).b!, 1000] },
        name,
      );
    }
  },
);

fileTest("forget, then the same key re-created: only the new samples come back", async (dir) => {
  const snap = new Consumption(dir, { capacity: 100, journalLimit: 1 }); // compacts every time
  rec(snap, "k", [1, 2, 3]);
  rec(snap, "other", [1]);
  await snap.persist();
  assert.deepEqual(await listing(dir), [JOURNAL, "k.bin", "other.bin"]);
  const old = await Deno.readFile(`${dir}/k.bin`);

  const c = await restored(dir);
  c.forget("k");
  await c.persist();
  assert.deepEqual(await listing(dir), [JOURNAL, "other.bin"]); // the old snapshot is gone
  assert.deepEqual(state(await restored(dir)), { other: [1] });
  await Deno.writeFile(`${dir}/k.bin`, old); // as if the box stopped before the removal
  assert.deepEqual(state(await restored(dir)), { other: [1] }); // the tombstone drops it

  rec(c, "k", [10]); // re-created in a later minute
  await c.persist();
  c.forget("k");
  rec(c, "k", [20, 21]); // and again within one minute
  await c.persist();
  assert.deepEqual(state(await restored(dir)), { k: [20, 21], other: [1] });

  // Compaction writes the new ring's snapshot and drops the tombstones with the journal.
  const d = await restored(dir, { journalLimit: 1 });
  rec(d, "k", [22]);
  await d.persist();
  assert.equal(await size(`${dir}/${JOURNAL}`), 0);
  assert.deepEqual(state(await restored(dir)), { k: [20, 21, 22], other: [1] });
});

fileTest("a directory of the previous format (snapshots only) restores as before", async (dir) => {
  const rings: Record<string, Ring> = {};
  for (const [key, n] of [[HOST_KEY, 120], ["plc 1/ü", 3]] as const) {
    const r = new Ring(100);
    for (let t = 1; t <= n; t++) r.push({ timestamp: t, cpu: t / 3, memory: t });
    rings[key] = r;
    await Deno.writeFile(`${dir}/${encodeURIComponent(key)}.bin`, r.encode());
  }
  await Deno.writeFile(`${dir}/torn.bin`, rings[HOST_KEY]!.encode().subarray(0, 30));
  await Deno.writeFile(`${dir}/notes.txt`, new Uint8Array([1]));
  const files = await listing(dir);
  const log = new CaptureLog();
  const c = await restored(dir, { log });
  assert.deepEqual(c.keys().sort(), [HOST_KEY, "plc 1/ü"]);
  for (const [key, r] of Object.entries(rings)) {
    assert.deepEqual(c.query(key, ALL, 1e9), r.range(0, 2 ** 32));
  }
  assert.equal(log.lines.length, 1);
  assert.match(log.lines[0]!, /^WARN Cannot restore consumption buffer "torn": Torn ring/);
  await c.persist(); // nothing recorded: nothing written, no journal created
  assert.deepEqual(await listing(dir), files);
  rec(c, HOST_KEY, [121]);
  await c.persist();
  assert.deepEqual(await listing(dir), [...files, JOURNAL].sort());
  assert.deepEqual(await Deno.readFile(`${dir}/${HOST_KEY}.bin`), rings[HOST_KEY]!.encode());
  assert.deepEqual(state(await restored(dir)).__host__!.slice(-2), [120, 121]);
});

fileTest("persist writes nothing when nothing was recorded or forgotten", async (dir) => {
  const c = new Consumption(`${dir}/metrics`, { capacity: 100 });
  await c.persist();
  c.forget("never-recorded");
  await c.persist();
  assert.deepEqual(await listing(dir), []); // not even the directory
  rec(c, "a", [1]);
  await c.persist();
  const path = `${dir}/metrics/${JOURNAL}`;
  const stat = await Deno.stat(path);
  await c.persist();
  await c.persist();
  const again = await Deno.stat(path);
  assert.equal(again.size, stat.size);
  assert.equal(again.mtime?.getTime(), stat.mtime?.getTime());
  assert.deepEqual(await listing(`${dir}/metrics`), [JOURNAL]);
});

fileTest("one minute of full 48 h rings appends ~150 bytes per key", async (dir) => {
  // Full rings as snapshots (a box that has run two days), then one minute of 5 s samples.
  for (const keys of [1, 21]) {
    const names = Array.from({ length: keys }, (_, k) => k === 0 ? HOST_KEY : `runtime-${k}`);
    const r = new Ring(CAPACITY);
    for (let i = 0; i < CAPACITY; i++) r.push({ timestamp: 1e9 + i * 5, cpu: 1, memory: 2 });
    const full = r.encode();
    for (const key of names) await Deno.writeFile(`${dir}/${key}.bin`, full);
    const c = await restored(dir, { capacity: CAPACITY });
    const t0 = 1e9 + CAPACITY * 5;
    for (const key of names) rec(c, key, Array.from({ length: 12 }, (_, i) => t0 + i * 5));
    await Deno.remove(`${dir}/${JOURNAL}`).catch(() => {});
    await c.persist();
    const bytes = await size(`${dir}/${JOURNAL}`);
    // Each key: 12 records of 12 bytes plus its name; the full rewrite was 415 KB per key.
    assert.ok(bytes > keys * 144 && bytes < (keys === 1 ? 256 : 4096), `${keys} keys: ${bytes} B`);
    for (const key of names) assert.equal(await size(`${dir}/${key}.bin`), full.length);
    for (const key of names) await Deno.remove(`${dir}/${key}.bin`);
  }
});

fileTest("a failed append is logged; its samples go with the next one, once", async (dir) => {
  await Deno.mkdir(`${dir}/${JOURNAL}`); // a directory where the journal goes: appends fail
  const log = new CaptureLog();
  const c = await restored(dir, { log });
  rec(c, "a", [1, 2]);
  rec(c, "b", [1]);
  await c.persist();
  c.forget("b");
  rec(c, "b", [5]);
  rec(c, "a", [3]);
  c.forget("gone");
  await c.persist();
  assert.equal(log.lines.filter((l) => l.startsWith("ERROR Cannot persist")).length, 2);
  await Deno.remove(`${dir}/${JOURNAL}`);
  rec(c, "a", [4]);
  await c.persist();
  assert.deepEqual(state(await restored(dir)), { a: [1, 2, 3, 4], b: [5] });
  await c.persist(); // nothing left pending
  assert.deepEqual(state(await restored(dir)), { a: [1, 2, 3, 4], b: [5] });
});

fileTest("records made while a persist and its compaction run are kept once", async (dir) => {
  const c = new Consumption(dir, { capacity: 1000, journalLimit: 400 });
  let t = 0;
  for (let round = 0; round < 30; round++) {
    rec(c, "a", [t++]);
    rec(c, `r${round % 3}`, [t++, t++]);
    if (round % 7 === 6) c.forget("r1");
    let done = false;
    const p = c.persist().then(() => done = true);
    while (!done) {
      rec(c, "a", [t++]);
      if (t % 5 === 0) c.forget("r2");
      await new Promise((r) => setTimeout(r, 0));
    }
    await p;
    await c.persist(); // what was recorded meanwhile
    assert.deepEqual(fullState(await restored(dir, { capacity: 1000 })), fullState(c), `${round}`);
  }
  assert.ok((await listing(dir)).includes("a.bin"), "compacted at least once");
  assert.ok(await size(`${dir}/${JOURNAL}`) < 400 + 200);
});
