import assert from "node:assert/strict";
import { isOkReply } from "./healthcheck.ts";

Deno.test("healthcheck: only our typed ok reply to its own get_status counts", () => {
  const cases: [string, boolean][] = [
    ['{"type":"reply","id":"healthcheck","command":"get_status","status":"ok"}', true],
    ['{"type":"reply","id":"healthcheck","command":"get_status","status":"error"}', false],
    ['{"type":"reply","id":7,"command":"get_status","status":"ok"}', false],
    ['{"success":true,"status":{"netlink":{}}}', false],
    ['{"type":"network_discovery","data":{}}', false],
    ["not json", false],
  ];
  for (const [line, want] of cases) assert.equal(isOkReply(line), want, line);
});
