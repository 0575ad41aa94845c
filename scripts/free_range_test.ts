import assert from "node:assert/strict";
import {
  candidateRanges,
  FreeRangeError,
  type IpRoute,
  lan,
  nameservers,
  overlaps,
  parseCidr,
  pickFreeRanges,
  takenFromAddresses,
  takenFromRoutes,
} from "./free_range.ts";

/** A route dump as `ip -j -4 route show table all` gave it on the machine this was written on. */
const ROUTES: IpRoute[] = [
  { dst: "default", gateway: "192.0.2.1" },
  { dst: "172.17.0.0/16", prefsrc: "172.17.0.1" },
  { dst: "192.0.2.0/24", prefsrc: "192.0.2.2" },
  { dst: "127.0.0.0/8", prefsrc: "127.0.0.1" },
  { dst: "192.0.2.2", prefsrc: "192.0.2.2" },
];

Deno.test("pickFreeRanges: table", async (t) => {
  const cases: {
    name: string;
    candidates: string[];
    taken: string[];
    count?: number;
    want: string[] | "error";
  }[] = [
    {
      name: "the machine's LAN is a documentation range: skipped",
      candidates: ["192.0.2.0/24", "198.51.100.0/24"],
      taken: takenFromRoutes(ROUTES),
      want: ["198.51.100.0/24"],
    },
    {
      name: "the registry resolves into a documentation range (reached via the default route)",
      candidates: ["203.0.113.0/24", "198.51.100.0/24"],
      taken: [...takenFromRoutes(ROUTES), "203.0.113.80"],
      want: ["198.51.100.0/24"],
    },
    {
      name: "the default route alone takes nothing",
      candidates: ["10.200.0.0/24"],
      taken: takenFromRoutes([{ dst: "default", gateway: "192.0.2.1" }]),
      want: ["10.200.0.0/24"],
    },
    {
      name: "a wider route (VPN 10/8) covers the candidate",
      candidates: ["10.200.0.0/24", "100.88.0.0/24"],
      taken: ["10.0.0.0/8"],
      want: ["100.88.0.0/24"],
    },
    {
      name: "a narrower route (a DNS server) inside the candidate",
      candidates: ["10.255.255.0/24", "10.255.254.0/24"],
      taken: ["10.255.255.53"],
      want: ["10.255.254.0/24"],
    },
    {
      name: "two picks never overlap each other",
      candidates: ["10.200.0.0/23", "10.200.1.0/24", "10.200.2.0/24"],
      taken: [],
      count: 2,
      want: ["10.200.0.0/23", "10.200.2.0/24"],
    },
    {
      name: "adjacent ranges do not overlap",
      candidates: ["10.200.1.0/24"],
      taken: ["10.200.0.0/24", "10.200.2.0/24", "10.200.0.255"],
      want: ["10.200.1.0/24"],
    },
    {
      name: "host bits in a candidate are cleared",
      candidates: ["10.200.3.77/24"],
      taken: [],
      want: ["10.200.3.0/24"],
    },
    {
      name: "nothing free",
      candidates: ["192.0.2.0/24"],
      taken: ["192.0.2.0/24"],
      want: "error",
    },
    {
      name: "fewer free than asked",
      candidates: ["10.1.0.0/24"],
      taken: [],
      count: 2,
      want: "error",
    },
    {
      name: "a taken entry that is no range",
      candidates: ["10.1.0.0/24"],
      taken: ["x"],
      want: "error",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      if (c.want === "error") {
        assert.throws(() => pickFreeRanges(c.candidates, c.taken, c.count), FreeRangeError);
      } else {
        assert.deepEqual(pickFreeRanges(c.candidates, c.taken, c.count), c.want);
      }
    });
  }
});

Deno.test("parseCidr and overlaps: table", () => {
  const cases: [string, string, boolean][] = [
    ["10.0.0.0/8", "10.200.1.0/24", true],
    ["10.200.1.0/24", "10.200.1.255", true],
    ["10.200.1.0/24", "10.200.2.0", false],
    ["0.0.0.0/0", "203.0.113.80", true],
    ["255.255.255.255", "255.255.255.255/32", true],
    ["128.0.0.0/1", "127.255.255.255", false],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(overlaps(parseCidr(a), parseCidr(b)), want, `${a} ~ ${b}`);
    assert.equal(overlaps(parseCidr(b), parseCidr(a)), want, `${b} ~ ${a}`);
  }
  for (
    const bad of ["", "10.0.0.0/33", "10.0.0/24", "10.0.0.256", "10.0.0.0/", "a.b.c.d", "1/2/3"]
  ) {
    assert.throws(() => parseCidr(bad), FreeRangeError, bad);
  }
});

Deno.test("takenFromRoutes: destinations, gateways and sources; not the default route", () => {
  assert.deepEqual(
    takenFromRoutes([
      ...ROUTES,
      { dst: "10.9.0.0/16", nexthops: [{ gateway: "10.9.0.1" }, { gateway: "10.9.0.2" }] },
      { dst: "unreachable" },
      {},
    ]),
    [
      "192.0.2.1",
      "172.17.0.0/16",
      "172.17.0.1",
      "192.0.2.0/24",
      "192.0.2.2",
      "127.0.0.0/8",
      "127.0.0.1",
      "192.0.2.2",
      "192.0.2.2",
      "10.9.0.0/16",
      "10.9.0.1",
      "10.9.0.2",
    ],
  );
});

Deno.test("takenFromAddresses and nameservers", () => {
  assert.deepEqual(
    takenFromAddresses([
      { addr_info: [{ family: "inet", local: "192.0.2.2", prefixlen: 24 }] },
      { addr_info: [{ family: "inet", local: "10.8.0.2", prefixlen: 32, address: "10.8.0.1" }] },
      { addr_info: [{ family: "inet6", local: "fe80::1", prefixlen: 64 }] },
      {},
    ]),
    ["192.0.2.2/24", "10.8.0.2/32", "10.8.0.1"],
  );
  assert.deepEqual(
    nameservers("# c\nnameserver 10.255.255.53\nnameserver ::1\n  nameserver 1.1.1.1\nsearch x\n"),
    ["10.255.255.53", "1.1.1.1"],
  );
});

Deno.test("candidateRanges: every /24 of each pool once, rotated by the offset", () => {
  const pools = ["10.200.0.0/22", "100.88.0.0/23"];
  assert.deepEqual(candidateRanges(1, 24, pools), [
    "10.200.1.0/24",
    "10.200.2.0/24",
    "10.200.3.0/24",
    "10.200.0.0/24",
    "100.88.1.0/24",
    "100.88.0.0/24",
  ]);
  assert.deepEqual(candidateRanges(4, 24, pools), candidateRanges(0, 24, pools));
  assert.equal(new Set(candidateRanges(123_456)).size, 2 * 2048);
  assert.throws(() => candidateRanges(0, 8, pools), FreeRangeError);
});

Deno.test("lan: hosts, netmask and the agent's MACVLAN network name", () => {
  const l = lan("10.200.7.0/24");
  assert.equal(l.at(250), "10.200.7.250");
  assert.equal(l.cidr(1), "10.200.7.1/24");
  assert.equal(l.netmask, "255.255.255.0");
  assert.equal(l.macvlan("eodemo0"), "macvlan_eodemo0_10.200.7.0_24");
  assert.throws(() => l.at(256), FreeRangeError);
  assert.throws(() => l.at(0), FreeRangeError);
});
