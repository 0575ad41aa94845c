import assert from "node:assert/strict";
import type { NetmonInterface } from "../../contracts/mod.ts";
import { InterfaceCache, primarySubnet } from "./interface_cache.ts";
import { parseNetmonLine } from "./netmon_client.ts";

function iface(name: string, address: string, gateway: string | null = null): NetmonInterface {
  const net = address.replace(/\.\d+$/, ".0");
  return {
    interface: name,
    index: 2,
    operstate: "UP",
    type: "ethernet",
    mac_address: "02:00:00:00:00:01",
    ipv4_addresses: [{ address, prefixlen: 24, subnet: `${net}/24`, network_address: net }],
    gateway,
    timestamp: "2026-11-25T00:00:00Z",
  };
}

Deno.test("discovery replaces the cache; removed interfaces disappear", () => {
  const cache = new InterfaceCache();
  assert.equal(cache.synced, false);
  let u = cache.apply({
    type: "network_discovery",
    data: {
      interfaces: [iface("ens37", "198.51.100.5"), iface("ens38", "192.0.2.5")],
      timestamp: "",
    },
  });
  assert.deepEqual(u.changed.map((i) => i.interface), ["ens37", "ens38"]);
  u = cache.apply({
    type: "network_discovery",
    data: { interfaces: [iface("ens37", "198.51.100.5")], timestamp: "" },
  });
  assert.deepEqual(u.changed, []);
  assert.deepEqual(u.gone, [{ interface: "ens38", status: "removed" }]);
  assert.equal(cache.get("ens38"), undefined);
  assert.equal(cache.absence("ens38"), "removed");
  assert.equal(cache.absence("nope"), "unknown");
});

Deno.test("change updates one interface; down removes it until it comes back", () => {
  const cache = new InterfaceCache();
  cache.apply({
    type: "network_discovery",
    data: { interfaces: [iface("ens37", "198.51.100.5")], timestamp: "" },
  });
  let u = cache.apply({
    type: "network_change",
    data: iface("ens37", "203.0.113.5", "203.0.113.1"),
  });
  assert.equal(u.changed.length, 1);
  assert.equal(primarySubnet(cache.get("ens37")!), "203.0.113.0/24");
  u = cache.apply({ type: "network_change", data: iface("ens37", "203.0.113.5", "203.0.113.1") });
  assert.equal(u.changed.length, 0, "an identical change is not a change");
  u = cache.apply({
    type: "network_change",
    data: { interface: "ens37", ipv4_addresses: [], status: "down" },
  });
  assert.deepEqual(u.gone, [{ interface: "ens37", status: "down" }]);
  assert.equal(cache.get("ens37"), undefined);
  assert.equal(cache.absence("ens37"), "down");
  cache.apply({ type: "network_change", data: iface("ens37", "203.0.113.5") });
  assert.ok(cache.get("ens37"));
});

Deno.test("netmon lines: bad lines are skipped with a reason, replies told apart", () => {
  assert.ok("skip" in parseNetmonLine("{nope"));
  assert.deepEqual(parseNetmonLine('{"type":"reply","command":"get_status","status":"ok"}'), {
    reply: { type: "reply", command: "get_status", status: "ok" },
    shape: "typed",
  });
  const bad = parseNetmonLine('{"type":"network_change","data":{"interface":"x"}}');
  assert.ok("skip" in bad && bad.skip.startsWith("invalid event"));
  const good = parseNetmonLine(
    JSON.stringify({ type: "network_change", data: iface("e", "192.0.2.1") }),
  );
  assert.ok("event" in good);
});

Deno.test("gone: news only for an interface known before; never-listed names are not kept", () => {
  const cache = new InterfaceCache();
  assert.equal(cache.hasData(), false);
  cache.apply({
    type: "network_discovery",
    data: { interfaces: [iface("ens37", "198.51.100.5")], timestamp: "" },
  });
  assert.equal(cache.hasData(), true);
  // The original netmon reports docker bridges going down; they were never listed.
  let u = cache.apply({
    type: "network_change",
    data: { interface: "br-5f0e1c2a9d11", ipv4_addresses: [], status: "down" },
  });
  assert.deepEqual(u.gone, []);
  assert.equal(cache.absence("br-5f0e1c2a9d11"), "unknown");
  u = cache.apply({
    type: "network_change",
    data: { interface: "ens37", ipv4_addresses: [], status: "down" },
  });
  assert.deepEqual(u.gone, [{ interface: "ens37", status: "down" }]);
  assert.equal(cache.hasData(), false);
  u = cache.apply({
    type: "network_change",
    data: { interface: "ens37", ipv4_addresses: [], status: "removed" },
  });
  assert.deepEqual(u.gone, [{ interface: "ens37", status: "removed" }], "down then removed");
  u = cache.apply({
    type: "network_change",
    data: { interface: "ens37", ipv4_addresses: [], status: "removed" },
  });
  assert.deepEqual(u.gone, [], "the same news twice is not news");
});
