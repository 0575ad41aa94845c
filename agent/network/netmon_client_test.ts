import assert from "node:assert/strict";
import type { Logger } from "../log.ts";
import { InterfaceCache, primarySubnet } from "./interface_cache.ts";
import { type NetmonLine, OnceLog, parseNetmonLine } from "./netmon_client.ts";

/**
 * Lines of the original (Python) netmon, shapes from original-agent-reference.md §9.2/§9.3 (see
 * the header of the file for what is recorded and what is assumed).
 */
async function originalLines(): Promise<string[]> {
  const text = await Deno.readTextFile(
    new URL("./testdata/original_netmon_lines.jsonl", import.meta.url),
  );
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

function kind(p: NetmonLine): string {
  if ("event" in p) return `event ${p.event.type}`;
  if ("reply" in p) return `reply ${p.shape}`;
  if ("ignore" in p) return `ignore ${p.ignore}${p.original ? " (original)" : ""}`;
  return `skip ${p.skip}`;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") };
}

Deno.test("every recorded line of the original netmon is read: none skipped", async () => {
  const kinds = (await originalLines()).map((l) => kind(parseNetmonLine(l)));
  assert.deepEqual(kinds, [
    "event network_discovery",
    "ignore device_discovery (original)",
    "event network_change",
    "event network_change",
    "event network_change",
    "ignore dhcp_update (original)",
    "ignore device_change (original)",
    "ignore device_change (original)",
    "event network_change",
    "reply plain",
    "reply plain",
    "reply plain",
  ]);
});

Deno.test("the original's lines fill the cache: subnets and gateways for creates and re-wiring", async () => {
  const cache = new InterfaceCache();
  const updates = [];
  for (const line of await originalLines()) {
    const p = parseNetmonLine(line);
    if ("event" in p) updates.push(cache.apply(p.event));
  }
  assert.equal(cache.synced, true);
  assert.equal(cache.hasData(), true);
  assert.deepEqual(cache.list().map((i) => i.interface), ["eth0", "eth1"]);
  // What create_new_runtime reads when the cloud gives no parent_subnet.
  assert.equal(primarySubnet(cache.get("eth0")!), "192.0.2.0/24");
  assert.equal(cache.get("eth0")?.gateway, "192.0.2.1");
  assert.equal(cache.get("eth0")?.mac_address, undefined);
  // eth1 got an address after the discovery: a change the re-wiring acts on.
  assert.equal(primarySubnet(cache.get("eth1")!), "203.0.113.0/24");
  assert.deepEqual(updates[1]?.changed.map((i) => i.interface), ["eth1"]);
  // The periodic re-send of an unchanged eth0 is no change (no re-wiring every 30 s).
  assert.deepEqual(updates[2]?.changed, []);
  // A docker bridge going down (the original's weaker filter) is no news.
  assert.deepEqual(updates[3]?.gone, []);
  assert.deepEqual(updates[4]?.gone, [{ interface: "wlan0", status: "removed" }]);
  assert.equal(cache.absence("wlan0"), "removed");
});

Deno.test("one log line per kind of line, however often it comes", async () => {
  const log = recordingLogger();
  const once = new OnceLog(log);
  const lines = await originalLines();
  for (let round = 0; round < 3; round++) {
    for (const l of lines) once.line(parseNetmonLine(l));
  }
  once.line(parseNetmonLine('{"type":"bogus_event","data":{}}'));
  once.line(parseNetmonLine('{"type":"bogus_event","data":{"x":1}}'));
  assert.equal(log.lines.length, 6, log.lines.join("\n"));
  const text = log.lines.join("\n");
  assert.match(text, /INFO netmon sends interfaces without mac_address/);
  for (const t of ["device_discovery", "dhcp_update", "device_change"]) {
    assert.match(text, new RegExp(`INFO netmon sends "${t}" events \\(the original netmon's\\)`));
  }
  assert.match(text, /INFO netmon sent a reply in the original's shape while no command/);
  assert.match(text, /WARN netmon sent an event of unknown type "bogus_event": ignored/);
});

Deno.test("line table: ours, the original's, and garbage", () => {
  const cases: [string, string][] = [
    ['{"type":"reply","id":1,"command":"get_status","status":"ok","success":true}', "reply typed"],
    ['{"success":false,"error":"Timeout"}', "reply plain"],
    ['{"error":"x"}', "skip no type and no success"],
    ['{"type":"reply","status":"maybe"}', "skip invalid reply"],
    ['{"type":"device_change","data":{}}', "ignore device_change"],
    ['{"type":"network_change","data":{"interface":"x"}}', "skip invalid event"],
    ["[1]", "skip not an object"],
    ["nope", "skip not JSON"],
  ];
  for (const [line, want] of cases) {
    assert.ok(
      kind(parseNetmonLine(line)).startsWith(want),
      `${line}: ${kind(parseNetmonLine(line))}`,
    );
  }
});
