import assert from "node:assert/strict";
import { describeProblem, failureProblem } from "./problems.ts";

Deno.test("failureProblem: Docker's stale macvlan record gets its own code and remedy", () => {
  const cases: [string, unknown][] = [
    [
      "(HTTP code 403) unexpected - network dm-fa929d5ee1c2 is already using parent interface eofr0",
      { code: "docker_stale_parent", parent: "eofr0", holder: "dm-fa929d5ee1c2" },
    ],
    [
      "(HTTP code 404) no such container - No such container: a",
      {
        code: "step_failed",
        step: "attach",
        error: "(HTTP code 404) no such container - No such container: a",
      },
    ],
  ];
  for (const [error, want] of cases) assert.deepEqual(failureProblem("attach", error), want);
  const line = describeProblem(failureProblem("attach", String(cases[0]![0])));
  assert.match(line, /local-kv\.db/);
  assert.match(line, /eofr0/);
  assert.equal((failureProblem("start", "x".repeat(5000)) as { error: string }).error.length, 300);
});
