import assert from "node:assert/strict";
import { type CreateNewRuntime, TOPICS } from "../../contracts/mod.ts";
import type { NetworkInfo } from "../docker/port.ts";
import { StaticInterfaceView } from "./interface_view.ts";
import { type CreateContext, planCreate } from "./plan_create.ts";

const view = new StaticInterfaceView([{
  interface: "ens37",
  index: 3,
  operstate: "UP",
  type: "ethernet",
  mac_address: "02:00:00:00:00:99",
  ipv4_addresses: [{
    address: "198.51.100.5",
    prefixlen: 24,
    subnet: "198.51.100.0/24",
    network_address: "198.51.100.0",
  }],
  gateway: "198.51.100.1",
  timestamp: "2026-11-25T12:00:00Z",
}]);

function ctx(over: Partial<CreateContext> = {}): CreateContext {
  return {
    image: "img:latest",
    extraLabels: {},
    stored: {},
    macvlans: [],
    view,
    newMac: () => "02:11:11:11:11:11",
    ...over,
  };
}

function msg(vnics: unknown[]): CreateNewRuntime {
  return TOPICS.create_new_runtime.request.parse({ container_name: "plc1", vnic_configs: vnics });
}

function net(
  name: string,
  parent: string,
  subnet: string,
  containers: NetworkInfo["containers"] = [],
): NetworkInfo {
  return {
    id: name,
    name,
    driver: "macvlan",
    internal: false,
    options: { parent },
    subnets: [{ subnet }],
    labels: {},
    containers,
  };
}

Deno.test("plan: internal network first, MACVLAN from netmon's view, container spec", () => {
  const p = planCreate(
    msg([{
      name: "eth0",
      parent_interface: "ens37",
      network_mode: "manual",
      ip_address: "198.51.100.9",
      dns: ["192.0.2.53"],
    }]),
    ctx(),
  );
  assert.equal(p.internal.name, "plc1_internal");
  assert.equal(p.internal.internal, true);
  assert.deepEqual(p.macvlans[0]!.spec.subnets, [{
    subnet: "198.51.100.0/24",
    gateway: "198.51.100.1",
  }]);
  assert.equal(p.macvlans[0]!.existing, null);
  assert.deepEqual(p.container.endpoints, [
    { network: "plc1_internal" },
    { network: "macvlan_ens37_198.51.100.0_24", mac: "02:11:11:11:11:11", ipv4: "198.51.100.9" },
  ]);
  assert.equal(p.container.restartPolicy, "always");
  assert.deepEqual(p.container.capAdd, ["SYS_NICE", "MKNOD"]);
  assert.deepEqual(p.container.dns, ["192.0.2.53"]);
  assert.equal(p.vnics[0]!.docker_network_name, "macvlan_ens37_198.51.100.0_24");
});

const refusals: [string, unknown[], Partial<CreateContext>, RegExp][] = [
  [
    "unknown parent without parent_subnet",
    [{ name: "e", parent_interface: "eth9", network_mode: "dhcp" }],
    {},
    /"eth9" is not known to netmon/,
  ],
  [
    "address outside the parent subnet",
    [{ name: "e", parent_interface: "ens37", network_mode: "manual", ip_address: "203.0.113.4" }],
    {},
    /outside the subnet 198.51.100.0\/24/,
  ],
  [
    "another subnet on a used parent",
    [{ name: "e", parent_interface: "ens37", network_mode: "dhcp", parent_subnet: "192.0.2.0/24" }],
    { macvlans: [net("lan", "ens37", "198.51.100.0/24")] },
    /already used by MACVLAN network "lan".*one MACVLAN network per parent/,
  ],
  ["MAC used by another runtime on the parent", [{
    name: "e",
    parent_interface: "ens37",
    network_mode: "dhcp",
    mac_address: "02:00:00:00:00:05",
  }], {
    stored: {
      other: [{
        name: "e",
        parent_interface: "ens37",
        network_mode: "dhcp",
        mac_address: "02:00:00:00:00:05",
      }],
    },
  }, /already used on parent interface "ens37" by "other"/],
  ["MAC used by a foreign container", [{
    name: "e",
    parent_interface: "ens37",
    network_mode: "dhcp",
    mac_address: "02:00:00:00:00:06",
  }], {
    macvlans: [
      net("lan", "ens37", "198.51.100.0/24", [{
        id: "x",
        name: "web",
        mac: "02:00:00:00:00:06",
        ipv4: "198.51.100.7",
      }]),
    ],
  }, /by "web"/],
];
for (const [name, vnics, c, re] of refusals) {
  Deno.test(`plan refuses: ${name}`, () => assert.throws(() => planCreate(msg(vnics), ctx(c)), re));
}

Deno.test("plan reuses an existing network of the same parent and subnet; keeps a stored MAC", () => {
  const p = planCreate(
    msg([{ name: "e", parent_interface: "ens37", network_mode: "dhcp" }]),
    ctx({
      macvlans: [net("userlan", "ens37", "198.51.100.0/24")],
      stored: {
        plc1: [{
          name: "e",
          parent_interface: "ens37",
          network_mode: "dhcp",
          mac_address: "02:00:00:00:00:42",
        }],
      },
    }),
  );
  assert.equal(p.macvlans[0]!.existing, "userlan");
  assert.equal(p.vnics[0]!.docker_network_name, "userlan");
  assert.equal(p.vnics[0]!.mac_address, "02:00:00:00:00:42");
});
