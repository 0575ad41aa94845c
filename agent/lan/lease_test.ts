import assert from "node:assert/strict";
import {
  type Lease,
  leaseOf,
  leaseTimes,
  leaseView,
  mergeLease,
  parseEvent,
  planPrepare,
  renderResolvConf,
  sameNetwork,
  toStatusLease,
} from "./lease.ts";
import { linkByMac, parseInspect, parseListing } from "./iface.ts";
import { isOurClient, udhcpcArgv } from "./dhcp_supervisor.ts";
import { udhcpcScript } from "./udhcpc_script.ts";

const BOUND = `event=bound
at=1000
pid=42
lost=0
interface=eth1
ip=10.77.0.110
mask=24
router=10.77.0.1 10.77.0.2
dns=10.77.0.53 10.77.0.54
domain=plant.example
lease=20
serverid=10.77.0.1
`;

const lease: Lease = {
  ip: "10.77.0.110",
  prefix: 24,
  gateway: "10.77.0.1",
  dns: ["10.77.0.53", "10.77.0.54"],
  domain: "plant.example",
  server: "10.77.0.1",
  bound_at: 1_000_000,
  lease_s: 20,
};

Deno.test("parseEvent reads the script's files and refuses torn or foreign ones", () => {
  const ev = parseEvent(BOUND);
  assert.equal(ev.kind, "bound");
  assert.equal(ev.at, 1_000_000);
  assert.equal(ev.router, "10.77.0.1");
  assert.deepEqual(leaseOf(ev), lease);
  assert.equal(parseEvent("event=deconfig\nat=5\npid=3\nlost=1\n").lost, true);
  assert.equal(leaseOf(parseEvent("event=leasefail\nat=5\npid=3\n")), null);
  for (
    const bad of [
      "",
      "event=bound\nat=1\npid=1\n", // bound without ip
      "event=reboot\nat=1\npid=1\n",
      "event=deconfig\nat=x\npid=1\n",
      BOUND.replace("ip=10.77.0.110", "ip=10.77.0.300"),
      BOUND.replace("mask=24", "mask=33"),
      BOUND.replace("lease=20", "lease=-1"),
    ]
  ) assert.throws(() => parseEvent(bad), SyntaxError, bad);
});

Deno.test("leaseView follows RFC 2131 times, a lost address, a release", () => {
  const t = leaseTimes(lease);
  assert.deepEqual(t, { t1: 1_010_000, t2: 1_017_500, expiry: 1_020_000 });
  const cases: [Partial<Parameters<typeof leaseView>[0]>, string][] = [
    [{ lease: null }, "waiting for offer"],
    [{ now: 1_000_000 }, "bound"],
    [{ now: 1_009_999 }, "bound"],
    [{ now: 1_010_000 }, "renewing"],
    [{ now: 1_017_500 }, "rebinding"],
    [{ now: 1_020_000 }, "expired"],
    [{ now: 1_005_000, lost: true }, "waiting for offer"],
    [{ now: 1_030_000, lost: true }, "expired"],
    [{ now: 1_005_000, released: true }, "released"],
  ];
  for (const [facts, state] of cases) {
    const v = leaseView({ lease, lost: false, released: false, now: 1_000_000, ...facts });
    assert.equal(v.state, state, JSON.stringify(facts));
    assert.equal(v.ip !== undefined, ["bound", "renewing", "rebinding"].includes(state));
  }
  assert.equal(
    leaseView({ lease, lost: false, released: false, now: 1_000_000 }).expires_at,
    new Date(1_020_000).toISOString(),
  );
});

Deno.test("toStatusLease reports the lease states as contracts/topics.ts knows them", () => {
  const cases: [string, string][] = [
    ["bound", "bound"],
    ["renewing", "renewing"],
    ["rebinding", "rebinding"],
    ["waiting for offer", "waiting for offer"],
    ["expired", "expired"],
    ["released", "released"],
  ];
  for (const [from, to] of cases) {
    assert.equal(toStatusLease({ state: from as never, dns: [] }).state, to);
  }
});

Deno.test("planPrepare drops IPAM addresses and keeps a valid lease only in its subnet", () => {
  const ipam = { ip: "10.77.0.2", prefix: 24 };
  const cases: [string, Parameters<typeof planPrepare>, string[], string | null][] = [
    ["no lease: IPAM goes", [[ipam], null, 0], ["10.77.0.2"], null],
    ["valid lease in the IPAM subnet is put back", [[ipam], lease, 1_001_000], [
      "10.77.0.2",
    ], "10.77.0.110"],
    [
      "lease already on the interface is kept",
      [[{ ip: "10.77.0.110", prefix: 24 }], lease, 1_001_000],
      [],
      "10.77.0.110",
    ],
    ["expired lease is not put back", [[ipam], lease, 1_020_000], ["10.77.0.2"], null],
    ["lease about to expire is not put back", [[ipam], lease, 1_016_000], ["10.77.0.2"], null],
    ["after a subnet move the old lease is dropped", [
      [{ ip: "10.88.0.2", prefix: 24 }],
      lease,
      1_001_000,
    ], [
      "10.88.0.2",
    ], null],
    ["unknown subnet (no address) keeps nothing", [[], lease, 1_001_000], [], null],
  ];
  for (const [name, args, removed, kept] of cases) {
    const p = planPrepare(...args);
    assert.deepEqual(p.remove.map((a) => a.ip), removed, name);
    assert.equal(p.apply?.ip ?? null, kept, name);
  }
  assert.ok(sameNetwork("10.0.0.1", "10.0.255.1", 16));
  assert.ok(!sameNetwork("10.0.0.1", "10.1.0.1", 16));
  assert.ok(sameNetwork("1.2.3.4", "5.6.7.8", 0));
});

Deno.test("mergeLease sets the original's keys while a lease holds and removes them after", () => {
  const vnic = { name: "e", network_mode: "dhcp", dhcp_ip: "10.0.0.9", dhcp_gateway: "10.0.0.1" };
  const held = leaseView({ lease, lost: false, released: false, now: 1_000_000 });
  assert.deepEqual(mergeLease(vnic, held), {
    name: "e",
    network_mode: "dhcp",
    dhcp_ip: "10.77.0.110",
    dhcp_gateway: "10.77.0.1",
    dhcp_dns: "10.77.0.53 10.77.0.54",
  });
  assert.deepEqual(mergeLease(vnic, { state: "waiting for offer", dns: [] }), {
    name: "e",
    network_mode: "dhcp",
  });
  assert.equal(vnic.dhcp_ip, "10.0.0.9", "input unchanged");
});

Deno.test("renderResolvConf: static DNS first, then leases', Docker's options kept", () => {
  const docker =
    "# Generated by Docker Engine.\nnameserver 127.0.0.11\nsearch corp\noptions ndots:0\n";
  assert.equal(renderResolvConf(docker, [], [{ ...lease, dns: [] }]), null);
  const out = renderResolvConf(docker, ["9.9.9.9"], [lease, {
    ...lease,
    dns: ["10.77.0.53", "1.1.1.1"],
  }])!;
  assert.deepEqual(out.split("\n").filter((l) => !l.startsWith("#")), [
    "search plant.example",
    "nameserver 9.9.9.9",
    "nameserver 10.77.0.53",
    "nameserver 10.77.0.54",
    "options ndots:0",
    "",
  ]);
  const noDomain = renderResolvConf(docker, [], [{ ...lease, domain: null }])!;
  assert.ok(noDomain.includes("search corp\n"));
  assert.ok(!noDomain.includes("127.0.0.11"));
});

Deno.test("parseListing finds a vNIC's interface by MAC with its addresses", () => {
  const text = [
    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
    "7: eth0@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue \\    link/ether 02:42:AC:11:00:02 brd ff:ff:ff:ff:ff:ff",
    "9: eth1@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff",
    "---",
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
    "9: eth1    inet 10.77.0.2/24 brd 10.77.0.255 scope global eth1\\       valid_lft forever preferred_lft forever",
    "9: eth1    inet 10.77.0.110/24 scope global secondary eth1\\       valid_lft forever",
    "",
  ].join("\n");
  const links = parseListing(text);
  assert.deepEqual(links.map((l) => l.name), ["eth0", "eth1"]);
  assert.deepEqual(linkByMac(links, "02:00:00:00:00:01"), {
    index: 9,
    name: "eth1",
    mac: "02:00:00:00:00:01",
    addrs: [{ ip: "10.77.0.2", prefix: 24 }, { ip: "10.77.0.110", prefix: 24 }],
  });
  assert.equal(linkByMac(links, "02:42:ac:11:00:02")?.index, 7);
  assert.equal(linkByMac(links, "02:00:00:00:00:99"), null);
  assert.deepEqual(parseListing(""), []);
});

Deno.test("udhcpc runs with the vNIC's hostname, client id and requested address", () => {
  const argv = udhcpcArgv("/bin/busybox", "/s.sh", "eth1", {
    name: "e",
    mac: "02:AB:00:00:00:01",
    hostname: "plc1",
  }, "10.77.0.110");
  assert.deepEqual(argv.slice(0, 7), ["/bin/busybox", "udhcpc", "-f", "-i", "eth1", "-s", "/s.sh"]);
  assert.ok(argv.join(" ").includes("-x hostname:plc1 -x 0x3d:0102ab00000001"));
  assert.deepEqual(argv.slice(-2), ["-r", "10.77.0.110"]);
  assert.ok(
    !udhcpcArgv("/bb", "/s", "eth1", { name: "e", mac: "02:00:00:00:00:01", hostname: "p" })
      .includes("-r"),
  );
  assert.ok(udhcpcScript("/opt/bb").startsWith("#!/opt/bb sh\n"));
});

Deno.test("parseInspect reads links, the namespace id and the clients' facts", () => {
  const text = [
    "9: eth1@if3: <UP> mtu 1500 \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff",
    "---",
    "9: eth1    inet 10.77.0.2/24 scope global eth1\\       valid_lft forever",
    "---",
    "net:[4026532470]",
    "---",
    "4242|net:[4026532470]|/bin/busybox udhcpc -f -i eth1 -x 0x3d:01020000000001 ",
    "garbage",
    "",
  ].join("\n");
  const ins = parseInspect(text);
  assert.equal(ins.netns, "net:[4026532470]");
  assert.deepEqual(ins.links[0]?.addrs, [{ ip: "10.77.0.2", prefix: 24 }]);
  assert.equal(ins.procs.size, 1);
  assert.ok(isOurClient(ins.procs.get(4242), { mac: "02:00:00:00:00:01" }));
  assert.ok(!isOurClient(ins.procs.get(4242), { mac: "02:00:00:00:00:02" }), "reused pid");
  assert.ok(!isOurClient(undefined, { mac: "02:00:00:00:00:01" }));
  assert.equal(parseInspect("").netns, "");
});
