import assert from "node:assert/strict";
import { TOPICS } from "../../contracts/mod.ts";
import { StaticInterfaceView } from "./interface_view.ts";
import { PlanError, validateCreate } from "./validate_create.ts";

const host = {
  interface: "ens37",
  index: 2,
  operstate: "UP" as const,
  type: "ethernet" as const,
  mac_address: "52:54:00:00:00:01",
  ipv4_addresses: [{
    address: "10.9.0.2",
    prefixlen: 24,
    subnet: "10.9.0.0/24",
    network_address: "10.9.0.0",
  }],
  gateway: "10.9.0.1",
  timestamp: "2026-12-01T00:00:00Z",
};

function create(vnic: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const msg = TOPICS.create_new_runtime.request.parse({
    container_name: "plc1",
    vnic_configs: [{ name: "eth0", parent_interface: "ens37", ...vnic }],
  });
  return () =>
    validateCreate(msg, {
      image: "img:1",
      version: "1",
      stored: { other: [{ ...msg.vnic_configs[0]!, mac_address: "02:00:00:00:00:99" }] },
      view: new StaticInterfaceView([host]),
      newMac: () => "02:00:00:00:00:01",
      neighbours: [{ ip: "10.9.0.1", mac: "00:11:22:33:44:55", device: "ens37" }],
      ...extra,
    });
}

Deno.test("create validation: refusals name the field and the reason", () => {
  const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{ network_mode: "static", ip: "10.9.0.2" }, {}, /10\.9\.0\.2.*host/i],
    [{ network_mode: "static", ip: "10.9.0.1" }, {}, /gateway/i],
    [{ network_mode: "dhcp", mac: "52:54:00:00:00:01" }, {}, /host/i],
    [{ network_mode: "dhcp", mac: "00:11:22:33:44:55" }, {}, /gateway/i],
    [{ network_mode: "static", ip: "10.8.0.5" }, {}, /outside the subnet 10\.9\.0\.0\/24/],
    [{ network_mode: "dhcp", mac: "02:00:00:00:00:99" }, {}, /already used .* by "other"/],
    [{ network_mode: "dhcp" }, { allowedParents: ["eth1"] }, /not an allowed parent.*eth1/],
  ];
  for (const [vnic, extra, re] of cases) {
    assert.throws(create(vnic, extra), (e: Error) => e instanceof PlanError && re.test(e.message));
  }
});

Deno.test("create validation: a good vNIC gets its MAC once, on an allowed parent", () => {
  const rt = create({ network_mode: "static", ip: "10.9.0.50" }, { allowedParents: ["ens37"] })();
  assert.equal(rt.phase, "creating");
  assert.equal(rt.vnics[0]!.mac_address, "02:00:00:00:00:01");
  assert.equal(rt.vnics[0]!.ip_address, "10.9.0.50");
});
