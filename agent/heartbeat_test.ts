import assert from "node:assert/strict";
import { Heartbeat } from "../contracts/mod.ts";
import { buildHeartbeat } from "./heartbeat.ts";

Deno.test("heartbeat payload matches the contract and rounds to 0.1", () => {
  const hb = buildHeartbeat(
    "07048933",
    {
      cpuPercent: 12.345,
      memUsed: 1.26e9,
      memTotal: 16e9,
      diskUsed: 20.04e9,
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
