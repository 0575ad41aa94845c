import assert from "node:assert/strict";
import {
  type Batch,
  BATCH_HEADER,
  crc32,
  decodeJournal,
  decodeRecords,
  encodeBatch,
  encodeRecords,
  type Entry,
  planReplay,
  RECORD,
  type ReplayOp,
} from "./journal.ts";

const text = (s: string) => new TextEncoder().encode(s);
const samples = (ts: number[]) =>
  encodeRecords(ts.map((t) => ({ timestamp: t, cpu: t / 4, memory: t * 2 })));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
};

Deno.test("crc32: standard check values, and continuing over pieces", () => {
  const table: [string, number][] = [
    ["", 0],
    ["a", 0xe8b7be43],
    ["123456789", 0xcbf43926], // the CRC-32/ISO-HDLC check value
    ["The quick brown fox jumps over the lazy dog", 0x414fa339],
  ];
  for (const [s, want] of table) assert.equal(crc32(text(s)), want, s);
  assert.equal(crc32(text("6789"), crc32(text("12345"))), 0xcbf43926);
});

Deno.test("records: rounded and clamped like a ring, f32 values", () => {
  const r = encodeRecords([{ timestamp: 10.6, cpu: 0.1, memory: 3 }, {
    timestamp: -5,
    cpu: 1,
    memory: 2,
  }]);
  assert.equal(r.length, 2 * RECORD);
  assert.deepEqual(decodeRecords(r), [
    { timestamp: 11, cpu: Math.fround(0.1), memory: 3 },
    { timestamp: 0, cpu: 1, memory: 2 },
  ]);
});

Deno.test("batches round-trip every entry kind, in order", () => {
  const table: Entry[][] = [
    [],
    [{ kind: "compaction" }],
    [{ kind: "tombstone", key: "plc-1" }],
    [{ kind: "samples", key: "__host__", records: samples([1, 2, 3]) }],
    [
      { kind: "tombstone", key: "plc-1" },
      { kind: "samples", key: "plc-1", records: samples([7]) },
      { kind: "samples", key: "ünï", records: samples([]) },
      { kind: "compaction" },
    ],
  ];
  for (const entries of table) {
    const bytes = encodeBatch(entries);
    const got = decodeJournal(bytes);
    assert.deepEqual(got, { batches: [{ offset: 0, entries }], good: bytes.length, bad: null });
  }
});

Deno.test("encodeBatch refuses a key over 65,535 bytes and partial records", () => {
  const long = "x".repeat(0x10000);
  assert.throws(() => encodeBatch([{ kind: "tombstone", key: long }]), RangeError);
  assert.throws(
    () => encodeBatch([{ kind: "samples", key: "a", records: new Uint8Array(13) }]),
    RangeError,
  );
});

Deno.test("one minute of 21 keys is one batch under 4 KB", () => {
  const minute = Array.from({ length: 12 }, (_, i) => 1_700_000_000 + i * 5);
  const entries: Entry[] = Array.from({ length: 21 }, (_, k) => ({
    kind: "samples",
    key: k === 0 ? "__host__" : `runtime-${String(k).padStart(2, "0")}`,
    records: samples(minute),
  }));
  const n = encodeBatch(entries).length;
  assert.ok(n < 4096, `${n} bytes`);
  assert.ok(n > 21 * 12 * RECORD, `${n} bytes`); // the records are all there
});

/** Three batches: the middle one is the one to damage, the last one the one to tear. */
function threeBatches() {
  const b1 = encodeBatch([{ kind: "samples", key: "a", records: samples([1, 2]) }]);
  const b2 = encodeBatch([
    { kind: "tombstone", key: "b" },
    { kind: "samples", key: "a", records: samples([3]) },
  ]);
  const b3 = encodeBatch([{ kind: "samples", key: "a", records: samples([4]) }]);
  return { b1, b2, b3, bytes: concat(b1, b2, b3) };
}

Deno.test("a torn tail at every byte of the last batch keeps the batches before it", () => {
  const { b1, b2, bytes } = threeBatches();
  const start = b1.length + b2.length;
  const whole = decodeJournal(bytes);
  assert.equal(whole.batches.length, 3);
  assert.equal(decodeJournal(bytes.subarray(0, start)).bad, null);
  for (let cut = start + 1; cut < bytes.length; cut++) {
    const got = decodeJournal(bytes.subarray(0, cut));
    assert.deepEqual(got.batches, whole.batches.slice(0, 2), `cut at ${cut}`);
    assert.equal(got.good, start, `cut at ${cut}`);
    assert.equal(got.bad?.offset, start, `cut at ${cut}`);
    assert.match(got.bad!.reason, /^torn batch/, `cut at ${cut}`);
  }
});

Deno.test("a flipped bit anywhere in a middle batch stops the replay there", () => {
  const { b1, b2, bytes } = threeBatches();
  for (let i = b1.length; i < b1.length + b2.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = bytes.slice();
      bad[i]! ^= 1 << bit;
      const got = decodeJournal(bad);
      const where = `byte ${i} bit ${bit}`;
      assert.equal(got.batches.length, 1, where);
      assert.equal(got.good, b1.length, where);
      assert.equal(got.bad?.offset, b1.length, where);
      assert.match(got.bad!.reason, /magic|torn|CRC/, where);
    }
  }
});

Deno.test("a batch whose CRC matches but whose entries do not parse is bad", () => {
  const payload = new Uint8Array([9]); // unknown entry kind
  const head = new Uint8Array(BATCH_HEADER);
  const v = new DataView(head.buffer);
  v.setUint32(0, 0x314a4f45, true);
  v.setUint32(4, payload.length, true);
  v.setUint32(8, crc32(payload, crc32(head.subarray(4, 8))), true);
  const ok = encodeBatch([{ kind: "tombstone", key: "a" }]);
  const got = decodeJournal(concat(ok, head, payload));
  assert.equal(got.batches.length, 1);
  assert.deepEqual(got.bad, { offset: ok.length, reason: "Unknown entry kind 9" });
});

Deno.test("planReplay: the skip rule holds only before the last compaction marker", () => {
  const s = (key: string, ts: number[]): Entry => ({ kind: "samples", key, records: samples(ts) });
  const t = (key: string): Entry => ({ kind: "tombstone", key });
  const m: Entry = { kind: "compaction" };
  const batches = (...bs: Entry[][]): Batch[] => bs.map((entries, offset) => ({ offset, entries }));
  const show = (ops: ReplayOp[]) =>
    ops.map((o) =>
      o.op === "drop"
        ? `drop ${o.key}`
        : `${o.key} ${decodeRecords(o.records).map((r) => r.timestamp).join(",")}`
    );
  const table: [string, Batch[], Record<string, number>, string[]][] = [
    [
      "no marker: all applied, even at or below the snapshot (clock set back)",
      [
        ...batches([s("a", [5, 6])], [s("a", [3])]),
      ],
      { a: 10 },
      ["a 5,6", "a 3"],
    ],
    [
      "marker, snapshot already holds it all: nothing",
      [
        ...batches([s("a", [11, 12])], [s("b", [3])], [m]),
      ],
      { a: 12, b: 3 },
      [],
    ],
    [
      "marker, snapshot older: all applied",
      [
        ...batches([s("a", [11, 12])], [m]),
      ],
      { a: 10 },
      ["a 11,12"],
    ],
    [
      "marker, snapshot written halfway through the journal: the newer part",
      [
        ...batches([s("a", [11, 12])], [s("a", [13, 14])], [m]),
      ],
      { a: 12 },
      ["a 13,14"],
    ],
    [
      "marker, key without a snapshot: all applied",
      [
        ...batches([s("a", [1])], [m]),
      ],
      {},
      ["a 1"],
    ],
    [
      "after the last marker: applied as is",
      [
        ...batches([s("a", [11])], [m], [s("a", [12])], [m], [s("a", [9])]),
      ],
      { a: 12 },
      ["a 9"],
    ],
    [
      "a tombstone ends the rule: the re-created key's records all apply",
      [
        ...batches([s("a", [11])], [t("a"), s("a", [12, 13])], [m]),
      ],
      { a: 13 },
      ["drop a", "a 12,13"],
    ],
    ["a tombstone alone drops the key", [...batches([t("a")])], { a: 5 }, ["drop a"]],
  ];
  for (const [name, bs, last, want] of table) {
    assert.deepEqual(show(planReplay(bs, new Map(Object.entries(last)))), want, name);
  }
});
