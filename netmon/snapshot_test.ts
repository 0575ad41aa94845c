import assert from "node:assert/strict";
import { capturedDump } from "./_fixtures.ts";
import * as C from "./netlink_constants.ts";
import type { LinkMessage } from "./netlink_parser.ts";
import { buildSnapshot, isExcludedName, isPublishable, looksWireless } from "./snapshot.ts";

const T = "2026-11-25T12:00:00.000Z";

Deno.test("captured namespace: every UP, non-virtual link with its addresses and gateway", () => {
  const s = buildSnapshot(capturedDump(), looksWireless, T);
  assert.deepEqual([...s.interfaces.keys()], ["eo0", "eo0p", "eo1", "eo1p"]);
  assert.deepEqual([...s.linkNames].sort(), ["eo0", "eo0p", "eo1", "eo1p", "lo"]);
  const eo0 = s.interfaces.get("eo0");
  assert.equal(eo0?.mac_address, "02:00:00:00:00:01");
  assert.equal(eo0?.gateway, "192.0.2.1");
  assert.equal(eo0?.type, "ethernet");
  assert.deepEqual(eo0?.ipv4_addresses, [
    { address: "192.0.2.10", prefixlen: 24, subnet: "192.0.2.0/24", network_address: "192.0.2.0" },
  ]);
  assert.deepEqual(s.interfaces.get("eo1")?.ipv4_addresses.map((a) => a.address), [
    "198.51.100.10",
    "198.51.100.11",
  ]);
  assert.equal(s.interfaces.get("eo1")?.gateway, null);
  assert.deepEqual(s.interfaces.get("eo0p")?.ipv4_addresses, []); // listed without IPv4
});

function link(name: string, operstate: number, flags = C.IFF_UP | C.IFF_LOWER_UP): LinkMessage {
  return {
    kind: "link",
    op: "new",
    header: { len: 0, type: C.RTM_NEWLINK, flags: 0, seq: 0, pid: 0 },
    index: 7,
    linkType: 1,
    flags,
    name,
    mac: "02:00:00:00:00:07",
    operstate,
    infoKind: undefined,
    wirelessAttr: false,
  };
}

Deno.test("filter table (protocol.md §6)", () => {
  const cases: [string, LinkMessage, boolean][] = [
    ["physical UP", link("ens37", C.IF_OPER_UP), true],
    ["lo", link("lo", C.IF_OPER_UNKNOWN, C.IFF_UP | C.IFF_LOWER_UP | C.IFF_LOOPBACK), false],
    ["docker0", link("docker0", C.IF_OPER_UP), false],
    ["br-1a2b", link("br-1a2b", C.IF_OPER_UP), false],
    ["veth12", link("veth12", C.IF_OPER_UP), false],
    ["virbr0", link("virbr0", C.IF_OPER_UP), false],
    // The rest of the original netmon's SKIP list (original-agent-reference.md §9.2).
    ...[
      "tailscale0",
      "wg0",
      "zt5u4y6b2c",
      "cni0",
      "flannel.1",
      "kube-ipvs0",
      "cilium_host",
      "macvtap0",
      "sit0",
      "can0",
    ].map((n): [string, LinkMessage, boolean] => [n, link(n, C.IF_OPER_UP), false]),
    ["not a prefix match: eth-wg", link("eth-wg", C.IF_OPER_UP), true],
    ["operstate DOWN", link("ens37", 2), false],
    ["operstate LOWERLAYERDOWN", link("ens37", 5), false],
    ["UNKNOWN but up and carrier", link("tun0", C.IF_OPER_UNKNOWN), true],
    ["UNKNOWN, admin up, no carrier", link("tun0", C.IF_OPER_UNKNOWN, C.IFF_UP), false],
  ];
  for (const [what, l, want] of cases) assert.equal(isPublishable(l), want, what);
  assert.equal(isExcludedName("dockerish"), true);
  assert.equal(isExcludedName("eth0"), false);
});

Deno.test("wifi by name or IFLA_WIRELESS; the probe decides the type", () => {
  assert.equal(looksWireless("wlp2s0", link("wlp2s0", C.IF_OPER_UP)), true);
  assert.equal(looksWireless("eth0", { ...link("eth0", C.IF_OPER_UP), wirelessAttr: true }), true);
  assert.equal(looksWireless("eth0", link("eth0", C.IF_OPER_UP)), false);
  const s = buildSnapshot(capturedDump(), (n) => n === "eo1", T);
  assert.equal(s.interfaces.get("eo1")?.type, "wifi");
});
