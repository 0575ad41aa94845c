import assert from "node:assert/strict";
import { createLogger, expiredLogs, formatLine, localDay } from "./log.ts";

Deno.test("log line format", () => {
  assert.equal(
    formatLine(new Date(0), "INFO", "hi", { a: 1, b: "x y" }),
    '1970-01-01T00:00:00.000Z INFO hi a=1 b="x y"',
  );
});

Deno.test("expired log files beyond keepDays", () => {
  const names = [
    "orchestrator-logs-2026-01-01.log",
    "orchestrator-logs-2026-01-10.log",
    "orchestrator-logs-2026-01-14.log",
    "other.txt",
  ];
  assert.deepEqual(expiredLogs(names, "orchestrator-logs", "2026-01-14", 5), [
    "orchestrator-logs-2026-01-01.log",
  ]);
});

Deno.test("stdout honours the level", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "WARNING", stateDir: null, write: (l) => lines.push(l) });
  log.info("no");
  log.warn("yes");
  log.critical("yes too");
  assert.equal(lines.length, 2);
  assert.equal(localDay(new Date(2026, 0, 2)), "2026-01-02");
});
