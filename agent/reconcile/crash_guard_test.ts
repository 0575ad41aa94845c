import assert from "node:assert/strict";
import { CrashGuard } from "./crash_guard.ts";

Deno.test("crash guard trips after more than N restarts within the window", () => {
  const g = new CrashGuard(3, 60_000);
  const t0 = 1_000_000;
  assert.equal(g.observe("a", 0, t0), false);
  assert.equal(g.observe("a", 2, t0 + 10_000), false);
  assert.equal(g.observe("a", 3, t0 + 20_000), false);
  assert.equal(g.observe("a", 4, t0 + 30_000), true);
  assert.equal(g.observe("a", 4, t0 + 900_000), true, "stays tripped until cleared");
  g.clear("a");
  assert.equal(g.observe("a", 4, t0 + 900_000), false);
});

Deno.test("slow restarts outside the window never trip; re-created containers start over", () => {
  const g = new CrashGuard(3, 60_000);
  for (let i = 0; i < 20; i++) assert.equal(g.observe("b", i, i * 120_000), false);
  assert.equal(g.observe("c", 50, 0), false);
  assert.equal(g.observe("c", 0, 1000), false);
  assert.equal(g.observe("c", 3, 2000), false);
});
