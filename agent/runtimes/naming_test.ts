import assert from "node:assert/strict";
import { isManaged, LABELS, runtimeLabels } from "./naming.ts";
import { internalNetworkName, macvlanLabels, macvlanNetworkName } from "../docker/networks.ts";
import { generateMac, isLocalUnicast } from "./mac.ts";
import { imageFor } from "./validate_create.ts";

Deno.test("names follow protocol.md §7", () => {
  assert.equal(internalNetworkName("plc1"), "plc1_internal");
  assert.equal(macvlanNetworkName("eth0", "192.168.1.0/24"), "macvlan_eth0_192.168.1.0_24");
});

Deno.test("labels mark ownership, role and enough to rebuild the vNICs", () => {
  const vnics = [{
    name: "eth0",
    parent_interface: "eth0",
    network_mode: "dhcp" as const,
    mac_address: "02:00:00:00:00:01",
  }];
  const l = runtimeLabels("plc1", "latest", vnics, { "io.edge-orchestrator.test": "1" });
  assert.equal(l[LABELS.managed], "1");
  assert.equal(l[LABELS.role], "runtime");
  assert.equal(l[LABELS.runtime], "plc1");
  assert.deepEqual(JSON.parse(l[LABELS.vnics]!), vnics);
  assert.ok(isManaged(l));
  assert.ok(!isManaged({}));
  assert.equal(macvlanLabels("eth0", "192.0.2.0/24")[LABELS.subnet], "192.0.2.0/24");
});

Deno.test("generated MACs are locally administered unicast and avoid used ones", () => {
  let n = 0;
  const seq = (size: number) => new Uint8Array(size).fill(n++ < 2 ? 0xff : 0x10);
  const first = generateMac(() => new Uint8Array(6).fill(0xff));
  assert.equal(first, "fe:ff:ff:ff:ff:ff");
  assert.ok(isLocalUnicast(first));
  assert.equal(generateMac(seq, new Set(["fe:ff:ff:ff:ff:ff"])), "12:10:10:10:10:10");
  assert.throws(
    () => generateMac(() => new Uint8Array(6), new Set(["02:00:00:00:00:00"])),
    /all in use/,
  );
});

Deno.test("image reference takes runtime_version as tag", () => {
  assert.equal(
    imageFor("ghcr.io/autonomy-logic/openplc-runtime:latest", "v4"),
    "ghcr.io/autonomy-logic/openplc-runtime:v4",
  );
  assert.equal(imageFor("localhost:5000/rt", "latest"), "localhost:5000/rt:latest");
  // No runtime_version from the cloud: the configured image is used as given (issue 15).
  assert.equal(imageFor("example/runtime:1", undefined), "example/runtime:1");
  assert.equal(imageFor("localhost:5000/rt", undefined), "localhost:5000/rt");
});
