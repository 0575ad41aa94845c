import assert from "node:assert/strict";
import { Heartbeat } from "../contracts/mod.ts";
import { buildHeartbeat } from "./heartbeat.ts";

const GIB = 1024 ** 3;

Deno.test("heartbeat payload matches the contract and rounds to 0.1", () => {
  const hb = buildHeartbeat(
    "07048933",
    {
      cpuPercent: 12.345,
      memUsed: 1.26 * GIB,
      memTotal: 23.5 * GIB,
      diskUsed: 20.04 * GIB,
      diskTotal: 250e9,
      sampledAt: 0,
    },
    61.4,
    Date.UTC(2026, 0, 1),
    2,
  );
  assert.deepEqual(Heartbeat.parse(hb), hb);
  assert.equal(hb.cpu_usage, 12.3);
  assert.equal(hb.memory_usage, 1.3);
  assert.equal(hb.disk_usage, 20);
  // GB are bytes / 1024^3 as the original computes them: 23.5 GiB shows 23.5 (not 25.2), and a
  // "250 GB" disk of 250e9 bytes shows 232.8.
  assert.equal(hb.memory_total, 23.5);
  assert.equal(hb.disk_total, 232.8);
  assert.equal(hb.uptime, 61);
  assert.equal(hb.status, "online");
  assert.equal(hb.timestamp, "2026-01-01T00:00:00.000Z");
  assert.equal(hb.runtimes, 2);
});

Deno.test("heartbeat before the first sample is still valid", () => {
  const hb = buildHeartbeat(
    "a",
    {
      cpuPercent: 0,
      memUsed: 0,
      memTotal: 0,
      diskUsed: 0,
      diskTotal: 0,
      sampledAt: 0,
    },
    0,
    0,
  );
  Heartbeat.parse(hb);
});
