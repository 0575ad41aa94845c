import assert from "node:assert/strict";
import { NetmonCommand, NetmonReply } from "../contracts/mod.ts";
import { readCommand } from "./commands.ts";

Deno.test("command lines table", () => {
  const cases: [string, string][] = [
    ['{"command":"get_status"}', "command get_status"],
    ['{"command":"resync","extra":1}', "command resync"],
    ['{"command":"exec","cmd":"rm -rf /"}', 'error exec Unknown command "exec"'],
    ['{"command":5}', "error null Cannot read command: expected"],
    ["[1,2]", "error null Cannot read command: expected"],
    ["null", "error null Cannot read command: expected"],
    ["hello", "error null Cannot read command: not JSON"],
  ];
  for (const [line, want] of cases) {
    const r = readCommand(line);
    const got = r.kind === "command"
      ? `command ${r.command.command}`
      : `error ${r.reply.command} ${r.reply.error}`;
    assert.ok(got.startsWith(want), `${line}: ${got}`);
    if (r.kind === "error") NetmonReply.parse(r.reply);
    // The hand check agrees with the contract's schema.
    let json: unknown = undefined;
    try {
      json = JSON.parse(line);
    } catch { /* not JSON */ }
    assert.equal(r.kind === "command", NetmonCommand.safeParse(json).success, line);
  }
});
