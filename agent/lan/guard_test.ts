import assert from "node:assert/strict";
import { checkVnicAgainstLan, parseArpingReply, parseProcNetArp } from "./guard.ts";

const parent = {
  interface: "ens37",
  mac_address: "02:00:00:00:00:aa",
  ipv4_addresses: [{ address: "10.77.0.250" }],
  gateway: "10.77.0.1",
};
const neighbours = [
  { ip: "10.77.0.1", mac: "02:00:00:00:00:01", device: "ens37" },
  { ip: "10.77.0.9", mac: "02:00:00:00:00:09", device: "ens37" },
  { ip: "10.99.0.1", mac: "02:00:00:00:00:77", device: "eth0" },
];

Deno.test("checkVnicAgainstLan refuses the host's and the gateway's address and MAC", () => {
  const cases: [Parameters<typeof checkVnicAgainstLan>[0], string | null][] = [
    [{ ip: "10.77.0.20/24", mac: "02:00:00:00:00:20" }, null],
    [{ ip: "10.77.0.250/24" }, "ip_is_host"],
    [{ ip: "10.77.0.1" }, "ip_is_gateway"],
    [{ ip: "10.77.0.5", gateway: "10.77.0.5" }, "ip_is_gateway"],
    [{ mac: "02:00:00:00:00:AA" }, "mac_is_host"],
    [{ mac: "02:00:00:00:00:01" }, "mac_is_gateway"],
    // A neighbour that is not the gateway is the ARP probe's business, not this check's.
    [{ ip: "10.77.0.9", mac: "02:00:00:00:00:09" }, null],
    // The gateway of another interface does not count.
    [{ mac: "02:00:00:00:00:77", gateway: "10.99.0.1" }, null],
    [{}, null],
  ];
  for (const [vnic, code] of cases) {
    const r = checkVnicAgainstLan(vnic, parent, neighbours);
    assert.equal(r?.code ?? null, code, JSON.stringify(vnic));
    if (r) assert.match(r.message, /^Cannot use (IP|MAC) .+: it is the .+ens37$/);
  }
  // A parent netmon does not list (no host address, or down): the neighbour table still counts.
  assert.equal(
    checkVnicAgainstLan({ mac: "02:00:00:00:00:77", gateway: "10.99.0.1" }, null, neighbours)?.code,
    "mac_is_gateway",
  );
});

Deno.test("parseProcNetArp keeps complete entries", () => {
  const text = `IP address       HW type     Flags       HW address            Mask     Device
10.77.0.1        0x1         0x2         02:00:00:00:00:01     *        ens37
10.77.0.7        0x1         0x0         00:00:00:00:00:00     *        ens37
garbage
`;
  assert.deepEqual(parseProcNetArp(text), [{
    ip: "10.77.0.1",
    mac: "02:00:00:00:00:01",
    device: "ens37",
  }]);
  assert.deepEqual(parseProcNetArp(""), []);
});

Deno.test("parseArpingReply reads the other host's MAC", () => {
  assert.equal(
    parseArpingReply(
      "ARPING 10.77.0.1 from 0.0.0.0 vb1\nUnicast reply from 10.77.0.1 [5A:E6:63:89:6E:69] 0.008ms\n",
    ),
    "5a:e6:63:89:6e:69",
  );
  assert.equal(
    parseArpingReply("Sent 1 probe(s) (0 broadcast(s))\nReceived 0 response(s)\n"),
    null,
  );
});
