import assert from "node:assert/strict";
import { healthRecord, startHealthFile } from "./health_file.ts";

Deno.test("healthRecord: connected only with a session start", () => {
  const rows: [number | null, boolean, string | null][] = [
    [null, false, null],
    [2_000, true, "1970-01-01T00:00:02.000Z"],
  ];
  for (const [since, connected, iso] of rows) {
    const r = healthRecord(5_000, 1_000, since, "https://x:1");
    assert.equal(r.connected, connected);
    assert.equal(r.connected_since, iso);
    assert.equal(r.started_at, "1970-01-01T00:00:01.000Z");
    assert.equal(r.updated_at, "1970-01-01T00:00:05.000Z");
    assert.equal(r.server_url, "https://x:1");
  }
});

Deno.test("startHealthFile: written at start, on every link change and on every tick", async () => {
  let t = 10_000;
  let listener: (up: boolean) => void = () => {};
  const writes: Record<string, unknown>[] = [];
  const tick = startHealthFile({
    path: "/x/health",
    session: { connected: () => false, onState: (l) => void (listener = l) },
    startedAt: 1_000,
    serverUrl: "https://cloud:8443",
    now: () => t,
    write: (path, text) => {
      assert.equal(path, "/x/health");
      assert.ok(text.endsWith("}\n") && !text.slice(0, -1).includes("\n"), "one JSON line");
      writes.push(JSON.parse(text));
      return Promise.resolve();
    },
  });
  t = 12_000;
  listener(true);
  t = 15_000;
  tick();
  t = 16_000;
  listener(false);
  t = 17_000;
  listener(true); // a new session: its own start
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(
    writes.map((w) => [w.connected, w.connected_since]),
    [
      [false, null],
      [true, "1970-01-01T00:00:12.000Z"],
      [true, "1970-01-01T00:00:12.000Z"],
      [false, null],
      [true, "1970-01-01T00:00:17.000Z"],
    ],
  );
});

Deno.test("startHealthFile: a failing write is ignored and later writes still happen", async () => {
  let n = 0;
  const tick = startHealthFile({
    path: "/x/health",
    session: { connected: () => true, onState: () => {} },
    startedAt: 0,
    serverUrl: "u",
    write: () => (++n === 1 ? Promise.reject(new Error("disk full")) : Promise.resolve()),
  });
  tick();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(n, 2);
});
