import assert from "node:assert/strict";
import { createLogger, escapeText, expiredLogs, formatLine, localDay, overBudget } from "./log.ts";

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

Deno.test("cloud-supplied text is escaped: no control character, ANSI or line break passes", () => {
  const table: [string, string][] = [
    ["plain topic", "plain topic"],
    ["a\nFAKE 2026 INFO forged", "a\\nFAKE 2026 INFO forged"],
    ["\u001b[31mred", "\\u001b[31mred"],
    ["cr\rtab\t", "cr\\rtab\\t"],
    ["sep\u2028x\u0085", "sep\\u2028x\\u0085"],
    ["caf\u00e9 \u2603", "caf\u00e9 \u2603"],
  ];
  for (const [input, want] of table) assert.equal(escapeText(input), want);
  const line = formatLine(new Date(0), "WARNING", 'Unknown topic "x\ny"', {
    "k\u001b": "v\u001b[0m",
    spaced: "a\nb c",
  });
  assert.ok(![...line].some((c) => c.charCodeAt(0) < 0x20), line);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.match(formatLine(new Date(0), "INFO", "m", { cyc, big: 1n }), /cyc=.*big=1/);
});

Deno.test("rolled-over parts expire like the day's file; the total budget drops the oldest", () => {
  assert.deepEqual(
    expiredLogs(
      ["orchestrator-logs-2026-01-01.3.log", "orchestrator-logs-2026-01-14.1.log"],
      "orchestrator-logs",
      "2026-01-14",
      5,
    ),
    ["orchestrator-logs-2026-01-01.3.log"],
  );
  const files = [
    { name: "c", size: 40, mtime: 3 },
    { name: "a", size: 40, mtime: 1 },
    { name: "b", size: 40, mtime: 2 },
  ];
  assert.deepEqual(overBudget(files, 100, "c"), ["a"]);
  assert.deepEqual(overBudget(files, 40, "c"), ["a", "b"]);
  assert.deepEqual(overBudget(files, 10, "a"), ["b", "c"]); // the current file is never removed
  assert.deepEqual(overBudget(files, 1000, "c"), []);
});
