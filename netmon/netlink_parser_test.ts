import assert from "node:assert/strict";
import fc from "fast-check";
import { datagrams, type FixtureName } from "./_fixtures.ts";
import * as C from "./netlink_constants.ts";
import { decodeDatagram } from "./netlink_decode.ts";
import { encodeAttributes, encodeMessage } from "./netlink_encode.ts";
import {
  type LinkMessage,
  NetlinkParseError,
  parseAttributes,
  splitMessages,
} from "./netlink_parser.ts";

const ALL: FixtureName[] = ["link_dump", "addr_dump", "route_dump", "error_enodev", "events"];
const FIXED: Record<number, number> = {
  [C.RTM_NEWLINK]: C.IFINFOMSG_LEN,
  [C.RTM_DELLINK]: C.IFINFOMSG_LEN,
  [C.RTM_NEWADDR]: C.IFADDRMSG_LEN,
  [C.RTM_DELADDR]: C.IFADDRMSG_LEN,
  [C.RTM_NEWROUTE]: C.RTMSG_LEN,
  [C.RTM_DELROUTE]: C.RTMSG_LEN,
};

Deno.test("link dump: several messages per datagram, NLMSG_DONE alone at the end", () => {
  const grams = datagrams("link_dump");
  const decoded = grams.map((g) => decodeDatagram(g));
  assert(decoded.slice(0, -1).every((ms) => ms.every((m) => m.kind === "link")));
  assert.deepEqual(decoded.at(-1)?.map((m) => m.kind), ["done"]);
  const links = decoded.flat().filter((m): m is LinkMessage => m.kind === "link");
  assert.deepEqual(links.map((l) => l.name).sort(), ["eo0", "eo0p", "eo1", "eo1p", "lo"]);
  const eo0 = links.find((l) => l.name === "eo0");
  assert.deepEqual(eo0?.mac, "02:00:00:00:00:01");
  assert.deepEqual(eo0?.infoKind, "veth");
  assert.deepEqual(eo0?.operstate, C.IF_OPER_UP);
  assert(links.every((l) => (l.header.flags & C.NLM_F_MULTI) !== 0));
});

Deno.test("addr and route dumps decode to the scenario of testdata/README.md", () => {
  const addrs = datagrams("addr_dump").flatMap((g) => decodeDatagram(g)).flatMap((m) =>
    m.kind === "addr" ? [`${m.address}/${m.prefixlen}@${m.index}`] : []
  );
  const links = datagrams("link_dump").flatMap((g) => decodeDatagram(g));
  const index = (n: string) =>
    (links.find((l) => l.kind === "link" && l.name === n) as LinkMessage | undefined)?.index;
  assert.deepEqual(addrs, [
    `127.0.0.1/8@${index("lo")}`,
    `192.0.2.10/24@${index("eo0")}`,
    `198.51.100.10/24@${index("eo1")}`,
    `198.51.100.11/24@${index("eo1")}`,
  ]);
  const defaults = datagrams("route_dump").flatMap((g) => decodeDatagram(g)).filter((m) =>
    m.kind === "route" && m.dstLen === 0 && m.table === C.RT_TABLE_MAIN
  );
  assert.deepEqual(defaults.length, 1);
  const d = defaults[0];
  if (d?.kind !== "route") throw new Error("no default route");
  assert.deepEqual(d.nexthops, [{ ifindex: index("eo0"), gateway: "192.0.2.1" }]);
});

Deno.test("NLMSG_ERROR carries a positive errno (ENODEV = 19)", () => {
  const [m] = decodeDatagram(datagrams("error_enodev")[0]!);
  assert.deepEqual(m?.kind === "error" ? m.errno : null, 19);
});

Deno.test("events: the scripted changes in order", () => {
  const kinds = datagrams("events").flatMap((g) => decodeDatagram(g)).map((m) =>
    m.kind === "other" || m.kind === "done" || m.kind === "error" ? m.kind : `${m.op}${m.kind}`
  );
  const firstNewAddr = kinds.indexOf("newaddr");
  assert(firstNewAddr >= 0 && kinds.indexOf("deladdr") > firstNewAddr);
  assert(kinds.includes("delroute") && kinds.includes("newroute"));
  assert.deepEqual(kinds.at(-1), "dellink");
});

Deno.test("round trip: every captured message re-encodes to the same bytes", () => {
  for (const name of ALL) {
    for (const gram of datagrams(name)) {
      const parts = splitMessages(gram).map((m) => {
        const fixed = FIXED[m.header.type];
        if (fixed === undefined) return encodeMessage(m.header, m.payload);
        const attrs = parseAttributes(m.payload.subarray(fixed));
        const body = new Uint8Array(fixed + encodeAttributes(attrs).length);
        body.set(m.payload.subarray(0, fixed));
        body.set(encodeAttributes(attrs), fixed);
        return encodeMessage(m.header, body);
      });
      const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((off, p) => (joined.set(p, off), off + p.length), 0);
      assert.deepEqual(joined, gram, `${name}`);
    }
  }
});

Deno.test("malformed framing: a table of typed errors", () => {
  const good = datagrams("addr_dump")[0]!;
  const withLen = (len: number) => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(0, len, true);
    return b;
  };
  const cases: [string, Uint8Array][] = [
    ["nlmsg_len below the header", withLen(8)],
    ["nlmsg_len beyond the datagram", withLen(good.length + 64)],
    ["trailing bytes", Uint8Array.of(...good, 1, 2, 3, 4, 5, 6)],
    [
      "short ifaddrmsg",
      encodeMessage({ type: C.RTM_NEWADDR, flags: 0, seq: 0, pid: 0 }, new Uint8Array(4)),
    ],
    ["bad attribute length", Uint8Array.of(...withLen(good.length).subarray(0, 24), 0xff, 0, 1, 0)],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(() => decodeDatagram(bytes), NetlinkParseError, what);
  }
  assert.deepEqual(decodeDatagram(new Uint8Array(0)), []);
});

Deno.test("garbage: random and mutated bytes throw only NetlinkParseError", () => {
  const grams = ALL.flatMap((n) => datagrams(n));
  const check = (bytes: Uint8Array) => {
    try {
      decodeDatagram(bytes);
    } catch (e) {
      if (!(e instanceof NetlinkParseError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { numRuns: 2000 });
  fc.assert(
    fc.property(
      fc.nat(grams.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.nat(),
      (i, flips, cut) => {
        const b = grams[i]!.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        check(b);
        check(b.subarray(0, cut % (b.length + 1)));
      },
    ),
    { numRuns: 3000 },
  );
});
