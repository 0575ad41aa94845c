import assert from "node:assert/strict";
import type { VnicConfig } from "../../contracts/mod.ts";
import { parentLan, placeholderSubnet } from "./lan.ts";
import type { ParentState } from "./types.ts";

const dhcp: VnicConfig = { name: "eth0", parent_interface: "ens37", network_mode: "dhcp" };
const up = (subnet: string | null, gateway: string | null = null): ParentState => ({
  state: "up",
  subnet,
  gateway,
});

Deno.test("one rule for a parent's LAN: cloud, then host, then the vNIC's own, then placeholder", () => {
  const manual: VnicConfig = {
    name: "eth0",
    parent_interface: "ens37",
    network_mode: "manual",
    ip_address: "10.5.0.9",
    subnet: "10.5.0.0/24",
    gateway: "10.5.0.1",
  };
  const cloud = { ...dhcp, parent_subnet: "10.7.0.0/24", parent_gateway: "10.7.0.1" };
  const cases: [VnicConfig[], ParentState, string | null, string | null][] = [
    [[cloud], up("10.1.0.0/24", "10.1.0.1"), "10.7.0.0/24", "cloud"],
    [[dhcp], up("10.1.0.0/24", "10.1.0.1"), "10.1.0.0/24", "host"],
    [[manual], up("10.1.0.0/24"), "10.1.0.0/24", "host"],
    [[manual], up(null), "10.5.0.0/24", "vnic"],
    [[dhcp], up(null), placeholderSubnet("ens37"), "placeholder"],
    [[dhcp], { state: "down" }, null, null],
    [[dhcp, manual], up(null), "10.5.0.0/24", "vnic"],
  ];
  for (const [vnics, host, subnet, source] of cases) {
    const lan = parentLan(vnics, host);
    assert.equal(lan?.subnet ?? null, subnet, JSON.stringify(vnics));
    assert.equal(lan?.source ?? null, source);
  }
  assert.equal(parentLan([manual], up(null))?.gateway, "10.5.0.1");
  assert.equal(parentLan([cloud], up(null))?.gateway, "10.7.0.1");
});

Deno.test("placeholder subnets are link-local and stable per parent", () => {
  assert.match(placeholderSubnet("ens37"), /^169\.254\.([1-9]\d?|1\d\d|2[0-4]\d|25[0-4])\.0\/24$/);
  assert.equal(placeholderSubnet("ens37"), placeholderSubnet("ens37"));
});
