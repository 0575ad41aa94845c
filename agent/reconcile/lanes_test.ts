import assert from "node:assert/strict";
import { groupLanes, runLanes } from "./lanes.ts";
import type { Step } from "./types.ts";

const start = (runtime: string): Step => ({ kind: "start", runtime });
const settle = (runtime: string): Step => ({ kind: "settle", runtime });

Deno.test("lanes: one per runtime in plan order, parent batches after, global steps last", () => {
  const to = { name: "n", parent: "p", subnet: "10.0.0.0/24", gateway: null, exists: true };
  const steps: Step[] = [
    start("a"),
    { kind: "remove_network", name: "x", detach: [] },
    start("b"),
    { kind: "attach", to, members: [] },
    settle("a"),
  ];
  const g = groupLanes(steps);
  assert.deepEqual(g.runtimes, [[start("a"), settle("a")], [start("b")]]);
  assert.deepEqual(g.parents, [[{ kind: "attach", to, members: [] }]]);
  assert.deepEqual(g.global, [{ kind: "remove_network", name: "x", detach: [] }]);
});

Deno.test("lanes: bounded concurrency, one step per runtime at a time, stop at a failure", async () => {
  const steps = ["a", "b", "c", "d", "e"].flatMap((r) => [start(r), settle(r)]);
  let inFlight = 0;
  let max = 0;
  const perRuntime = new Map<string, number>();
  const order: string[] = [];
  const results = await runLanes(steps, 2, async (s) => {
    const rt = "runtime" in s ? String(s.runtime) : "-";
    inFlight++;
    perRuntime.set(rt, (perRuntime.get(rt) ?? 0) + 1);
    max = Math.max(max, inFlight);
    assert.equal(perRuntime.get(rt), 1, "one step per runtime at a time");
    await new Promise((r) => setTimeout(r, 5));
    order.push(`${s.kind}:${rt}`);
    perRuntime.set(rt, perRuntime.get(rt)! - 1);
    inFlight--;
    return rt === "c" && s.kind === "start"
      ? { failures: [{ runtime: "c", error: "refused" }] }
      : { failures: [] };
  }, new AbortController().signal);
  assert.equal(max, 2);
  assert.ok(!order.includes("settle:c"), "a lane stops at its first failure");
  assert.ok(order.indexOf("start:a") < order.indexOf("settle:a"), "in order within a lane");
  assert.equal(results.length, 9);
});

Deno.test("lanes: a waiting step stops its lane without a failure", async () => {
  const seen: string[] = [];
  const r = await runLanes([start("a"), settle("a")], 4, (s) => {
    seen.push(s.kind);
    return Promise.resolve({ failures: [], wait: true });
  }, new AbortController().signal);
  assert.deepEqual(seen, ["start"]);
  assert.equal(r[0]!.wait, true);
});
