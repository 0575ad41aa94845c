import assert from "node:assert/strict";
import { NETMON_COMMANDS, NetmonCommand, NetmonPlainReply, NetmonReply } from "../contracts/mod.ts";
import {
  errorReply,
  okReply,
  readCommand,
  statusBody,
  type StatusFacts,
  SUPPORTED,
} from "./commands.ts";

/** How a line reads: "<kind> <shape> <command> <id> <error prefix>". */
function describe(line: string): string {
  const r = readCommand(line);
  return r.kind === "command"
    ? `command ${r.shape} ${r.command} ${r.id}`
    : `error ${r.shape} ${r.command} ${r.id} ${r.error}`;
}

Deno.test("command lines table: shape follows the id, texts as the original's", () => {
  const cases: [string, string][] = [
    ['{"command":"get_status"}', "command plain get_status undefined"],
    ['{"command":"get_status","id":7}', "command typed get_status 7"],
    ['{"command":"resync","id":"a","extra":1}', "command typed resync a"],
    ['{"command":"resync"}', "command plain resync undefined"],
    ['{"command":"get_netlink_status"}', "command plain get_netlink_status undefined"],
    ['{"command":"exec","cmd":"rm -rf /"}', "error plain exec undefined Unknown command: exec"],
    ['{"command":"exec","id":1}', "error typed exec 1 Unknown command: exec"],
    [
      '{"command":"start_dhcp","container_name":"p"}',
      "error plain start_dhcp undefined Not supported by this netmon: start_dhcp (this netmon runs",
    ],
    ['{"command":"constructor"}', "error plain constructor undefined Unknown command: constructor"],
    ['{"command":5}', "error plain null undefined Missing command"],
    ['{"command":"get_status","id":1.5}', 'error typed get_status undefined Invalid "id"'],
    ['{"command":"get_status","id":null}', 'error typed get_status undefined Invalid "id"'],
    ["[1,2]", "error typed null undefined Cannot read command: expected an object"],
    ["null", "error typed null undefined Cannot read command: expected an object"],
    ["hello", "error typed null undefined Invalid JSON"],
  ];
  for (const [line, want] of cases) {
    const got = describe(line);
    assert.ok(got.startsWith(want), `${line}: ${got}`);
    // The hand check agrees with the contract's schema.
    let json: unknown = undefined;
    try {
      json = JSON.parse(line);
    } catch { /* not JSON */ }
    assert.equal(readCommand(line).kind === "command", NetmonCommand.safeParse(json).success, line);
  }
});

Deno.test("SUPPORTED is the contract's list", () => {
  assert.deepEqual([...SUPPORTED].sort(), [...NETMON_COMMANDS].sort());
});

const facts: StatusFacts = {
  ours: { change_pending: false, dump_failures_in_a_row: 0, clients: 2, interfaces: [] },
};

Deno.test("replies: typed with the id, or the original's untyped shape; both match the contracts", () => {
  const typed = readCommand('{"command":"get_status","id":"x"}');
  const plain = readCommand('{"command":"get_status"}');
  assert.ok(typed.kind === "command" && plain.kind === "command");
  const t = NetmonReply.parse(okReply(typed, statusBody("get_status", facts)));
  assert.deepEqual([t.type, t.id, t.command, t.status, t.success], [
    "reply",
    "x",
    "get_status",
    "ok",
    true,
  ]);
  assert.equal(t.data?.clients, 2);
  const p = NetmonPlainReply.parse(okReply(plain, statusBody("get_status", facts)));
  assert.equal("type" in p, false);
  // reference §9.3: {success:true, status:{netlink, dhcp, devices, clients_connected, pending_changes}}
  assert.deepEqual(Object.keys(p.status as object), [
    "netlink",
    "dhcp",
    "devices",
    "clients_connected",
    "pending_changes",
  ]);
  assert.deepEqual((p.status as { netlink: unknown }).netlink, {
    running: true,
    degraded: false,
    consecutive_errors: 0,
    socket_active: true,
  });
  const refused = readCommand('{"command":"move_nic_to_container","host_interface":"eth2"}');
  assert.ok(refused.kind === "error");
  const e = NetmonPlainReply.parse(errorReply(refused, refused.error));
  assert.deepEqual(Object.keys(e), ["success", "error"]);
  assert.equal(e.success, false);
  const bad = readCommand("nope");
  assert.ok(bad.kind === "error");
  NetmonReply.parse(errorReply(bad, bad.error));
});

Deno.test("status queries in the original's field names", () => {
  assert.deepEqual(statusBody("get_dhcp_status", facts), { status: {} });
  assert.deepEqual(statusBody("get_device_status", facts), {
    status: { running: false, pyudev_available: false, cached_devices: 0, devices: [] },
  });
  const failing = {
    ours: { ...facts.ours, dump_failures_in_a_row: 3, change_pending: true },
  };
  assert.deepEqual(statusBody("get_netlink_status", failing), {
    status: { running: true, degraded: true, consecutive_errors: 3, socket_active: true },
  });
  const s = statusBody("get_status", failing).status as Record<string, unknown>;
  assert.equal(s.pending_changes, 1);
  assert.equal(s.clients_connected, 2);
});

Deno.test("every recorded command of the original agent gets an answer in its shape", async () => {
  // netmon/testdata/original_agent_commands.jsonl: shapes from original-agent-reference.md §9.3.
  const text = await Deno.readTextFile(
    new URL("./testdata/original_agent_commands.jsonl", import.meta.url),
  );
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.ok(lines.length >= 15);
  for (const line of lines) {
    const r = readCommand(line);
    assert.equal(r.shape, "plain", line);
    const reply = r.kind === "command"
      ? okReply(r, statusBody(r.command as Exclude<typeof r.command, "resync">, facts))
      : errorReply(r, r.error);
    const p = NetmonPlainReply.parse(reply);
    const name = JSON.parse(line).command as string;
    if (name.startsWith("get_")) assert.equal(p.success, true, line);
    else {
      assert.equal(p.success, false, line);
      assert.match(String(p.error), new RegExp(`^Not supported by this netmon: ${name} \\(`));
    }
  }
});
