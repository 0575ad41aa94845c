import assert from "node:assert/strict";
import { seededRandom } from "../agent/session/seeded_random.ts";
import {
  eventTimes,
  FULL_COUNTS,
  FULL_MINUTES,
  leastSquares,
  MIX,
  type MixContext,
  pickCommand,
  type ProcSample,
  quantile,
  scaleCounts,
  summarize,
  warmupMinutes,
} from "./soak_plan.ts";

Deno.test("scaleCounts: the full day at 24 min, scaled down with at least one of each", () => {
  const table: [number, ReturnType<typeof scaleCounts>][] = [
    [FULL_MINUTES, FULL_COUNTS],
    [3, { commands: 1250, outages: 63, moves: 6, dockerdRestarts: 1 }],
    [12, { commands: 5000, outages: 250, moves: 25, dockerdRestarts: 3 }],
    [0.1, { commands: 42, outages: 2, moves: 1, dockerdRestarts: 1 }],
  ];
  for (const [minutes, want] of table) assert.deepEqual(scaleCounts(minutes), want, `${minutes}`);
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => scaleCounts(bad), RangeError);
  }
});

Deno.test("warmupMinutes: a sixth, at least one", () => {
  const table: [number, number][] = [[24, 4], [3, 1], [1, 1], [12, 2], [30, 5]];
  for (const [m, w] of table) assert.equal(warmupMinutes(m), w, `${m}`);
});

Deno.test("eventTimes: one per slot, inside its middle half, sorted", () => {
  const table: [count: number, span: number, rng: () => number, want: number[]][] = [
    [4, 4000, () => 0, [250, 1250, 2250, 3250]],
    [4, 4000, () => 0.999999, [750, 1750, 2750, 3750]],
    [1, 1000, () => 0.5, [500]],
  ];
  for (const [n, span, rng, want] of table) assert.deepEqual(eventTimes(n, span, rng), want);
  const t = eventTimes(500, 24 * 60_000, seededRandom(7));
  assert.equal(t.length, 500);
  assert.ok(t.every((x, i) => i === 0 || x > t[i - 1]!), "strictly increasing");
  assert.ok(t[0]! > 0 && t.at(-1)! < 24 * 60_000);
});

Deno.test("leastSquares: exact lines, flat, noise, degenerate", () => {
  const table: [{ x: number; y: number }[], number, number][] = [
    [[{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }], 2, 1],
    [[{ x: 0, y: 4 }, { x: 10, y: 4 }], 0, 4],
    [[{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 0 }, { x: 3, y: 1 }], 0.2, 0.2],
    [[{ x: 5, y: 1 }, { x: 5, y: 3 }], 0, 2],
    [[], 0, 0],
  ];
  for (const [pts, slope, intercept] of table) {
    const f = leastSquares(pts);
    assert.ok(Math.abs(f.slope - slope) < 1e-9, `slope ${f.slope} want ${slope}`);
    assert.ok(Math.abs(f.intercept - intercept) < 1e-9, `intercept ${f.intercept}`);
  }
});

Deno.test("summarize: growth after warm-up from the fitted line, peaks over the whole run", () => {
  const s = (min: number, rssMib: number, fds = 30, threads = 10): ProcSample => ({
    atMs: min * 60_000,
    rssKb: rssMib * 1024,
    fds,
    threads,
    children: min === 2 ? 3 : 0,
  });
  // Warm-up (minutes 0-1) climbs 20 MiB; after it, +0.5 MiB per minute for 4 minutes.
  const samples = [
    s(0, 50),
    s(1, 70, 40),
    s(2, 80),
    s(3, 80.5),
    s(4, 81),
    s(5, 81.5),
    s(6, 82, 31),
  ];
  const out = summarize(samples, 2 * 60_000);
  assert.equal(out.rss_peak_mib, 82);
  assert.equal(out.rss_after_warmup_mib, 80);
  assert.equal(out.rss_end_mib, 82);
  assert.equal(out.rss_growth_after_warmup_mib, 2);
  assert.equal(out.rss_slope_mib_per_h, 30);
  assert.equal(out.fds_peak, 40, "peak includes warm-up");
  assert.equal(out.fds_growth_after_warmup, 0.8, "slope 0.2 per minute over 4 minutes");
  assert.equal(out.threads_growth_after_warmup, 0);
  assert.equal(out.children_peak, 3);
  assert.equal(out.samples_after_warmup, 5);
  // Fewer than two samples after warm-up: every sample makes the fit.
  assert.equal(summarize([s(0, 50), s(1, 51)], 10 * 60_000).rss_growth_after_warmup_mib, 1);
  assert.throws(() => summarize([], 0), RangeError);
});

Deno.test("quantile: nearest rank", () => {
  const table: [number[], number, number][] = [
    [[], 0.5, -1],
    [[5], 0.5, 5],
    [[3, 1, 2, 4], 0.5, 2],
    [[3, 1, 2, 4], 1, 4],
    [[3, 1, 2, 4], 0, 1],
  ];
  for (const [v, q, want] of table) assert.equal(quantile(v, q), want);
});

Deno.test("pickCommand: every topic but delete_orchestrator, hostile ones flagged", () => {
  assert.equal(MIX.reduce((s, [, p]) => s + p, 0), 100, "shares add up to 100 %");
  const ctx: MixContext = {
    lifecycle: ["l0", "l1"],
    steady: ["s0", "s1", "s2"],
    churn: "c0",
    churnPresent: true,
    parent: "eth9",
  };
  const rng = seededRandom(42);
  const topics = new Map<string, number>();
  let hostile = 0;
  for (let i = 0; i < 5_000; i++) {
    const c = pickCommand(rng, ctx);
    topics.set(c.topic, (topics.get(c.topic) ?? 0) + 1);
    if (c.hostile) hostile++;
    if (c.kind === "churn_delete") assert.deepEqual(c.payload, { device_id: "c0" });
    if (c.kind === "scope_delete") {
      assert.match((c.payload as { device_id: string }).device_id, /^orchestrator_(netmon|agent)$/);
    }
    if (c.kind === "churn_delete") ctx.churnPresent = false;
    if (c.kind === "churn_create") ctx.churnPresent = true;
    assert.notEqual(c.topic, "delete_orchestrator");
  }
  assert.deepEqual([...topics.keys()].sort(), [
    "create_new_runtime",
    "delete_device",
    "get_consumption_device",
    "get_consumption_orchestrator",
    "get_device_status",
    "get_host_interfaces",
    "get_serial_devices",
    "restart_device",
    "run_command",
    "start_device",
    "stop_device",
  ]);
  assert.ok(hostile > 1_000 && hostile < 1_400, `about 22 % hostile: ${hostile}`);
});
