import assert from "node:assert/strict";
import type { NetmonInterface } from "../contracts/mod.ts";
import { diffSnapshots, immediateChange } from "./diff.ts";
import * as C from "./netlink_constants.ts";
import type { LinkMessage } from "./netlink_parser.ts";
import type { Snapshot } from "./snapshot.ts";

const T0 = "2026-11-25T12:00:00.000Z";
const T1 = "2026-11-25T12:00:05.000Z";

function iface(name: string, index: number, extra: Partial<NetmonInterface> = {}): NetmonInterface {
  return {
    interface: name,
    index,
    operstate: "UP",
    type: "ethernet",
    mac_address: `02:00:00:00:00:0${index}`,
    ipv4_addresses: [{
      address: `192.0.2.${index}`,
      prefixlen: 24,
      subnet: "192.0.2.0/24",
      network_address: "192.0.2.0",
    }],
    gateway: "192.0.2.1",
    timestamp: T0,
    ...extra,
  };
}

function snap(list: NetmonInterface[], extraLinks: string[] = []): Snapshot {
  return {
    interfaces: new Map(list.map((i) => [i.interface, { ...i, timestamp: T1 }])),
    linkNames: new Set([...list.map((i) => i.interface), ...extraLinks]),
  };
}

const before = new Map([["eth0", iface("eth0", 2)], ["eth1", iface("eth1", 3)]]);
const moved = {
  address: "198.51.100.7",
  prefixlen: 24,
  subnet: "198.51.100.0/24",
  network_address: "198.51.100.0",
};

Deno.test("snapshot diff table", () => {
  const cases: [string, Snapshot, string[]][] = [
    ["nothing changed (only timestamps)", snap([iface("eth0", 2), iface("eth1", 3)]), []],
    ["new address", snap([iface("eth0", 2, { ipv4_addresses: [moved] }), iface("eth1", 3)]), [
      "eth0 changed",
    ]],
    ["gateway gone", snap([iface("eth0", 2, { gateway: null }), iface("eth1", 3)]), [
      "eth0 changed",
    ]],
    [
      "MAC changed",
      snap([iface("eth0", 2), iface("eth1", 3, { mac_address: "02:aa:00:00:00:01" })]),
      [
        "eth1 changed",
      ],
    ],
    ["link down", snap([iface("eth0", 2)], ["eth1"]), ["eth1 down"]],
    ["link removed", snap([iface("eth0", 2)]), ["eth1 removed"]],
    ["new interface", snap([iface("eth0", 2), iface("eth1", 3), iface("eth2", 4)]), [
      "eth2 changed",
    ]],
    ["all gone", snap([]), ["eth0 removed", "eth1 removed"]],
  ];
  for (const [what, after, want] of cases) {
    const got = diffSnapshots(before, after, T1).map((c) =>
      `${c.interface} ${"status" in c ? c.status : "changed"}`
    );
    assert.deepEqual(got, want, what);
  }
});

Deno.test("diff output carries the new state and the snapshot time", () => {
  const [c] = diffSnapshots(before, snap([iface("eth0", 2, { gateway: null })], ["eth1"]), T1);
  assert.deepEqual(c, { ...iface("eth0", 2, { gateway: null }), timestamp: T1 });
});

function linkEvent(op: "new" | "del", index: number, name: string, operstate: number): LinkMessage {
  return {
    kind: "link",
    op,
    header: { len: 0, type: C.RTM_NEWLINK, flags: 0, seq: 0, pid: 0 },
    index,
    linkType: 1,
    flags: operstate === C.IF_OPER_UP ? C.IFF_UP | C.IFF_LOWER_UP : C.IFF_UP,
    name,
    mac: undefined,
    operstate,
    infoKind: undefined,
    wirelessAttr: false,
  };
}

Deno.test("immediate link events table", () => {
  const cases: [string, LinkMessage, string | null][] = [
    ["down", linkEvent("new", 3, "eth1", 2), "eth1 down"],
    ["deleted", linkEvent("del", 3, "eth1", 2), "eth1 removed"],
    ["renamed", linkEvent("new", 3, "lan1", C.IF_OPER_UP), "eth1 removed"],
    ["still up", linkEvent("new", 3, "eth1", C.IF_OPER_UP), null],
    ["unknown link", linkEvent("del", 9, "eth9", 2), null],
  ];
  for (const [what, ev, want] of cases) {
    const c = immediateChange(before, ev, T1);
    assert.equal(c ? `${c.interface} ${c.status}` : null, want, what);
    if (c) assert.deepEqual(c.ipv4_addresses, []);
  }
});
