import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Attribute,
  commonName,
  nameText,
  parseCertificate,
  parseName,
  parsePemCertificate,
  pemBlocks,
  timeText,
} from "./x509.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);
const read = (name: string): string => Deno.readTextFileSync(new URL(name, TESTDATA));
const derOf = (name: string): Uint8Array => pemBlocks(read(name), "CERTIFICATE")[0]!;

/** Rows of testdata/openssl_view.txt: openssl's reading of each fixture (see make.sh). */
const VIEW = read("openssl_view.txt").trim().split("\n").map((line) => {
  const [file, version, serial, notBefore, notAfter, subject, issuer] = line.split("|") as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { file, version, serial, notBefore, notAfter, subject, issuer };
});

/**
 * openssl's one-line name in our rendering: we flatten a multi-valued RDN (`OU=a + CN=b`) into
 * its attributes and print DC, which our table does not name, as its OID.
 */
const asOurs = (opensslName: string): string =>
  opensslName.replaceAll(" + ", ", ").replace(/(^|, )DC=/g, "$10.9.2342.19200300.100.1.25=");

Deno.test("every fixture reads as openssl reads it", () => {
  assert.equal(VIEW.length, 9);
  for (const row of VIEW) {
    const cert = parseCertificate(derOf(row.file));
    const msg = row.file;
    assert.equal(String(cert.version), row.version, msg);
    assert.equal(cert.serialNumber, row.serial, msg);
    assert.equal(cert.notBefore.getTime(), Date.parse(row.notBefore.replace(" ", "T")), msg);
    assert.equal(cert.notAfter.getTime(), Date.parse(row.notAfter.replace(" ", "T")), msg);
    assert.equal(nameText(cert.subject), asOurs(row.subject), msg);
    assert.equal(nameText(cert.issuer), asOurs(row.issuer), msg);
  }
});

Deno.test("fixture fields: short names, dotted OIDs, string types, both time types", () => {
  const rsa = parsePemCertificate(read("rsa.crt"));
  assert.deepEqual(rsa.subject, [
    { type: "C", value: "DE" }, // PrintableString
    { type: "ST", value: "Bayern" },
    { type: "L", value: "München" }, // UTF8String
    { type: "O", value: "Edge GmbH" },
    { type: "OU", value: "Dev" },
    { type: "CN", value: "07048933" },
    { type: "emailAddress", value: "ops@example.com" }, // IA5String
    { type: "serialNumber", value: "SN-42" },
  ]);
  assert.equal(timeText(rsa.notAfter), "2034-01-01T12:00:00Z"); // UTCTime
  const ec = parsePemCertificate(read("ec.crt"));
  assert.equal(timeText(ec.notAfter), "2099-12-31T23:59:59Z"); // GeneralizedTime
  assert.equal(commonName(ec.subject), "dev-ec");
  assert.equal(parsePemCertificate(read("v1.crt")).version, 1);
  assert.deepEqual(parsePemCertificate(read("t61.crt")).subject[0], {
    type: "O",
    value: "Müller & Söhne", // T61String, Latin-1 bytes
  });
  assert.deepEqual(parsePemCertificate(read("bmp.crt")).subject[0], {
    type: "O",
    value: "Grüße €", // BMPString
  });
  assert.deepEqual(parsePemCertificate(read("mixed.crt")).subject, [
    { type: "OU", value: "multi" },
    { type: "CN", value: "dev-mixed" },
    { type: "0.9.2342.19200300.100.1.25", value: "example" },
    { type: "1.3.6.1.4.1.32473.1", value: "Edge 😀" },
  ]);
  assert.equal(commonName(parsePemCertificate(read("nocn.crt")).subject), null);
});

// A small DER writer for inputs openssl will not make (odd versions, times, string types).
type Bytes = Uint8Array | number[];
function tlv(tag: number, ...parts: Bytes[]): Uint8Array {
  const body = parts.flatMap((p) => Array.from(p));
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...body]);
}
const seq = (...parts: Bytes[]) => tlv(0x30, ...parts);
const text = (s: string) => new TextEncoder().encode(s);
const CN_OID = [0x55, 0x04, 0x03];
const ECDSA_SHA256 = seq(tlv(0x06, [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
const name = (...attrs: [oid: number[], tag: number, value: Bytes][]) =>
  seq(...attrs.map(([oid, tag, value]) => tlv(0x31, seq(tlv(0x06, oid), tlv(tag, value)))));
const utc = (s: string) => tlv(0x17, text(s));
const gen = (s: string) => tlv(0x18, text(s));

function certDer(opts: { version?: number; notBefore?: Uint8Array; subject?: Uint8Array }) {
  const tbs = seq(
    opts.version === undefined ? [] : tlv(0xa0, tlv(0x02, [opts.version])),
    tlv(0x02, [0x00, 0x9c]), // a positive serial with its sign byte: prints as 9C
    ECDSA_SHA256,
    name([CN_OID, 0x0c, text("issuer")]),
    seq(opts.notBefore ?? utc("240101000000Z"), gen("20991231235959Z")),
    opts.subject ?? name([CN_OID, 0x0c, text("subject")]),
    seq(seq(tlv(0x06, [0x2a])), tlv(0x03, [0x00])),
  );
  return seq(tbs, ECDSA_SHA256, tlv(0x03, [0x00]));
}

Deno.test("version: absent is v1, [0] INTEGER 0..2 is v1..v3, anything else refused", () => {
  assert.equal(parseCertificate(certDer({})).version, 1);
  for (const v of [0, 1, 2]) assert.equal(parseCertificate(certDer({ version: v })).version, v + 1);
  assert.throws(() => parseCertificate(certDer({ version: 3 })), {
    name: "SyntaxError",
    message: /^Cannot read version: expected INTEGER 0, 1 or 2/,
  });
  assert.equal(parseCertificate(certDer({})).serialNumber, "9C");
});

Deno.test("times: UTCTime century rule, GeneralizedTime fractions, invalid dates refused", () => {
  const ok: [Uint8Array, string][] = [
    [utc("500101000000Z"), "1950-01-01T00:00:00.000Z"], // RFC 5280: YY >= 50 is 19YY
    [utc("491231235959Z"), "2049-12-31T23:59:59.000Z"],
    [gen("20240229120000Z"), "2024-02-29T12:00:00.000Z"],
    [gen("20240229120000.25Z"), "2024-02-29T12:00:00.250Z"],
    [gen("00050101000000Z"), "0005-01-01T00:00:00.000Z"], // not 1905: years below 100 kept
  ];
  for (const [time, iso] of ok) {
    assert.equal(parseCertificate(certDer({ notBefore: time })).notBefore.toISOString(), iso);
  }
  const bad: [Uint8Array, RegExp][] = [
    [utc("2401010000Z"), /UTCTime "2401010000Z" is not YYMMDDHHMMSSZ/],
    [utc("240101000000+0100"), /is not YYMMDDHHMMSSZ/],
    [gen("20230229000000Z"), /"20230229000000Z" is not a valid date and time/],
    [utc("241301000000Z"), /not a valid date/],
    [utc("240101240000Z"), /not a valid date/],
    [utc("240101000060Z"), /not a valid date/],
    [gen("20240101000000.50Z"), /is not YYYYMMDDHHMMSS\[\.f\]Z/], // DER: no trailing zero
    [tlv(0x04, [1]), /expected UTCTime or GeneralizedTime, found tag 0x4/],
  ];
  for (const [time, re] of bad) {
    assert.throws(() => parseCertificate(certDer({ notBefore: time })), {
      name: "SyntaxError",
      message: new RegExp(`^Cannot read notBefore: .*${re.source}`),
    });
  }
});

Deno.test("names: string types, unknown types as #hex, long OIDs", () => {
  const cases: [Uint8Array, Attribute[]][] = [
    [name([CN_OID, 0x1c, [0, 1, 0xf6, 0, 0, 0, 0, 0x41]]), [{ type: "CN", value: "😀A" }]],
    [name([CN_OID, 0x1e, [0x20, 0xac, 0, 0x41]]), [{ type: "CN", value: "€A" }]],
    [name([CN_OID, 0x14, [0xe9]]), [{ type: "CN", value: "é" }]],
    [name([CN_OID, 0x04, [0xab, 0xcd]]), [{ type: "CN", value: "#0402abcd" }]],
    [name([[0x88, 0x37, 0x01], 0x0c, text("x")]), [{ type: "2.999.1", value: "x" }]],
    [name([[0x06, 0x01], 0x0c, text("x")]), [{ type: "0.6.1", value: "x" }]],
    [seq(), []],
  ];
  for (const [der, attrs] of cases) assert.deepEqual(parseName(der), attrs);
  const bad: [Uint8Array, RegExp][] = [
    [name([CN_OID, 0x1c, [0, 0x11, 0, 0]]), /UniversalString code point 0x110000/],
    [name([CN_OID, 0x1c, [0, 0, 0]]), /a UniversalString of length 3/],
    [name([CN_OID, 0x1e, [0x20]]), /a BMPString of odd length 1/],
    [name([CN_OID, 0x0c, [0xff]]), /a UTF8String that is not UTF-8/],
    [name([[0x80, 0x01], 0x0c, text("x")]), /leading zero byte/],
    [name([[0x55, 0x84], 0x0c, text("x")]), /the last OID arc is cut off/],
    [name([[], 0x0c, text("x")]), /an empty OBJECT IDENTIFIER/],
    [seq(tlv(0x31)), /an empty set/],
    [seq(tlv(0x31, seq(tlv(0x06, CN_OID), tlv(0x0c, text("a")), tlv(0x0c)))), /after the value/],
  ];
  for (const [der, re] of bad) {
    assert.throws(() => parseName(der), { name: "SyntaxError", message: re });
  }
});

Deno.test("DER framing: only definite, shortest lengths inside the buffer", () => {
  const good = certDer({});
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(), /^Cannot read Certificate: the element is missing at byte 0$/],
    [Uint8Array.of(0x30), /the length is cut off/],
    [Uint8Array.of(0x30, 0x80, 0, 0), /indefinite length/],
    [Uint8Array.of(0x30, 0x81, 0x05, 0, 0, 0, 0, 0), /length 5 in long form/],
    [Uint8Array.of(0x30, 0x82, 0x00, 0x90), /leading zero byte/],
    [Uint8Array.of(0x30, 0x85, 1, 0, 0, 0, 0), /a length of 5 bytes/],
    [Uint8Array.of(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff), /length 2147483647 runs past the end/],
    [Uint8Array.of(0x1f, 0x01, 0x00), /multi-byte tag/],
    [Uint8Array.of(...good, 0), /1 trailing bytes/],
    [Uint8Array.of(0x31, 0x00), /expected tag 0x30, found 0x31/],
  ];
  for (const [der, re] of cases) {
    assert.throws(() => parseCertificate(der), { name: "SyntaxError", message: re });
  }
  assert.throws(() => parseCertificate("MII" as unknown as Uint8Array), { name: "TypeError" });
});

Deno.test("PEM: first of a chain, text around blocks, broken blocks refused", () => {
  const leaf = read("ec.crt");
  const chain = `Bag Attributes\n  friendlyName: x\n${leaf}\n${read("ca.crt")}`;
  assert.equal(pemBlocks(chain, "CERTIFICATE").length, 2);
  assert.equal(commonName(parsePemCertificate(chain).subject), "dev-ec");
  assert.deepEqual(parsePemCertificate(leaf.replaceAll("\n", "\r\n")), parsePemCertificate(leaf));
  assert.deepEqual(pemBlocks(read("ec_sec1.key"), "CERTIFICATE"), []);
  assert.throws(() => parsePemCertificate(read("ec_sec1.key")), {
    name: "SyntaxError",
    message: "Cannot read PEM: no -----BEGIN CERTIFICATE----- block",
  });
  assert.throws(() => pemBlocks(leaf.replace("-----END", "-----FIN"), "CERTIFICATE"), {
    name: "SyntaxError",
    message: /has no "-----END CERTIFICATE-----"/,
  });
  assert.throws(() => pemBlocks(leaf.replace("MII", "M!I"), "CERTIFICATE"), {
    name: "SyntaxError",
    message: "Cannot read PEM: the CERTIFICATE block is not base64",
  });
});

Deno.test("nameText escapes separators; commonName takes the first non-empty CN", () => {
  const n = [{ type: "O", value: "A, B+C\\D" }, { type: "CN", value: " " }, {
    type: "CN",
    value: " x ",
  }];
  assert.equal(nameText(n), "O=A\\, B\\+C\\\\D, CN= , CN= x ");
  assert.equal(commonName(n), "x");
  assert.equal(commonName([{ type: "O", value: "Edge" }]), null);
  assert.equal(commonName([{ type: "CN", value: "" }]), null);
  assert.equal(nameText([]), "");
});

/** Runs `f`; an error other than SyntaxError/TypeError fails the test. */
function onlySyntaxOrTypeError(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof SyntaxError || err instanceof TypeError)) throw err;
  }
}

Deno.test("fuzz-ish: truncated, bit-flipped and random input throw only SyntaxError/TypeError", () => {
  for (const file of ["rsa.crt", "ec.crt", "mixed.crt", "bmp.crt", "v1.crt"]) {
    const der = derOf(file);
    for (let n = 0; n < der.length; n++) {
      assert.throws(() => parseCertificate(der.subarray(0, n)), SyntaxError, `${file}[0..${n})`);
    }
    for (let bit = 0; bit < der.length * 8; bit++) {
      const flipped = der.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      onlySyntaxOrTypeError(() => parseCertificate(flipped));
    }
  }
  const base = derOf("rsa.crt");
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      onlySyntaxOrTypeError(() => parseCertificate(bytes));
      onlySyntaxOrTypeError(() => parseName(bytes));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      (edits) => {
        const der = base.slice();
        for (const [at, b] of edits) der[at] = b;
        onlySyntaxOrTypeError(() => parseCertificate(der));
      },
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      onlySyntaxOrTypeError(() => parsePemCertificate(`-----BEGIN CERTIFICATE-----${s}`));
      onlySyntaxOrTypeError(() =>
        parsePemCertificate(`-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----`)
      );
    }),
    { numRuns: 2000 },
  );
});
