/**
 * A reader for the few X.509 fields the agent looks at (version, validity, subject, issuer), so
 * that checking the device certificate needs no Node crypto polyfill (which alone costs the idle
 * agent about 3 MiB of RSS, issue 15). Pure: PEM text or DER bytes in, plain data out. It verifies
 * nothing cryptographic; Deno's TLS stack does that when the certificate is used.
 *
 * Strict DER, as rustls/webpki reads it (a certificate this refuses, the TLS stack would refuse
 * too). Every length is checked against its enclosing element before a byte is read. Bad input
 * throws only `SyntaxError` (or `TypeError` for a wrong argument type), naming the field and byte.
 *
 * @module
 */

/** One attribute of a distinguished name, e.g. `{ type: "CN", value: "07048933" }`. */
export interface Attribute {
  /** Short name (CN, O, OU, C, ST, L, serialNumber, emailAddress) or the dotted OID. */
  type: string;
  /** The value as text; a value of a non-string type is `#` and the hex of its DER (RFC 4514). */
  value: string;
}

/** The fields of a certificate {@linkcode parseCertificate} reads. */
export interface Certificate {
  /** X.509 version: the optional `[0] EXPLICIT Version` field; its absence means v1. */
  version: 1 | 2 | 3;
  /** Serial number in upper-case hex, a DER sign byte 00 left off (as openssl prints it). */
  serialNumber: string;
  /** Issuer name, attributes in certificate order (multi-valued RDNs flattened). */
  issuer: Attribute[];
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** Subject name, attributes in certificate order (multi-valued RDNs flattened). */
  subject: Attribute[];
}

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OBJECT_IDENTIFIER = 0x06;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const VERSION_TAG = 0xa0; // [0] EXPLICIT, constructed

/** Short names of the attribute types RFC 4514 and openssl print by name. */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "1.2.840.113549.1.9.1": "emailAddress",
};

/** An element: its tag and where its content starts and ends in the buffer. */
interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fail(what: string, state: string, at: number): never {
  throw new SyntaxError(`Cannot read ${what}: ${state} at byte ${at}`);
}

/** Reads the element at `pos`, which must end by `end` (the end of its parent). */
function readTlv(der: Uint8Array, pos: number, end: number, what: string): Tlv {
  if (pos >= end) fail(what, "the element is missing", pos);
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) fail(what, `multi-byte tag 0x${tag.toString(16)}`, pos);
  if (pos + 1 >= end) fail(what, "the length is cut off", pos);
  let len = der[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) fail(what, "indefinite length (BER, not DER)", pos);
    // Four length bytes allow 4 GiB, far past any certificate, and stay exact in a number.
    if (n > 4) fail(what, `a length of ${n} bytes`, pos);
    if (n > end - start) fail(what, "the length is cut off", pos);
    if (der[start] === 0) fail(what, "a length with a leading zero byte (not DER)", pos);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    if (len < 0x80) fail(what, `length ${len} in long form (not DER)`, pos);
    start += n;
  }
  if (len > end - start) {
    fail(what, `length ${len} runs past the end (${end - start} bytes left)`, pos);
  }
  return { tag, start, end: start + len };
}

function expectTlv(der: Uint8Array, pos: number, end: number, tag: number, what: string): Tlv {
  const tlv = readTlv(der, pos, end, what);
  if (tlv.tag !== tag) {
    fail(what, `expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`, pos);
  }
  return tlv;
}

function oidText(der: Uint8Array, tlv: Tlv, what: string): string {
  if (tlv.start === tlv.end) fail(what, "an empty OBJECT IDENTIFIER", tlv.start);
  const arcs: number[] = [];
  let value = 0;
  let first = true;
  for (let i = tlv.start; i < tlv.end; i++) {
    const b = der[i]!;
    if (first && b === 0x80) fail(what, "an OID arc with a leading zero byte (not DER)", i);
    // Past 2^46 one more base-128 digit would leave the exact integers of a number.
    if (value >= 2 ** 46) fail(what, "an OID arc too large", i);
    value = value * 128 + (b & 0x7f);
    first = !(b & 0x80);
    if (first) {
      arcs.push(value);
      value = 0;
    }
  }
  if (!first) fail(what, "the last OID arc is cut off", tlv.end);
  const head = arcs[0]!;
  const top = head < 40 ? 0 : head < 80 ? 1 : 2; // X.690 8.19.4: the first two arcs share a byte
  return [top, head - 40 * top, ...arcs.slice(1)].join(".");
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Text of a directory string; tags from X.680 8.4 (universal class). */
function stringValue(der: Uint8Array, tlv: Tlv, pos: number, what: string): string {
  const bytes = der.subarray(tlv.start, tlv.end);
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      try {
        return UTF8.decode(bytes);
      } catch {
        return fail(what, "a UTF8String that is not UTF-8", pos);
      }
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    // T61String: read as Latin-1, as openssl writes it (it puts Latin-1 bytes there).
    case 0x14:
      return latin1(bytes);
    case 0x1e: { // BMPString: UTF-16BE
      if (bytes.length % 2) fail(what, `a BMPString of odd length ${bytes.length}`, pos);
      let s = "";
      for (let i = 0; i < bytes.length; i += 2) {
        s += String.fromCharCode(bytes[i]! * 256 + bytes[i + 1]!);
      }
      return s;
    }
    case 0x1c: { // UniversalString: UTF-32BE
      if (bytes.length % 4) fail(what, `a UniversalString of length ${bytes.length}`, pos);
      let s = "";
      for (let i = 0; i < bytes.length; i += 4) {
        const cp = ((bytes[i]! * 256 + bytes[i + 1]!) * 256 + bytes[i + 2]!) * 256 + bytes[i + 3]!;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
          fail(what, `UniversalString code point 0x${cp.toString(16)}`, pos + i);
        }
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default: // RFC 4514 2.4: any other type as '#' and the hex of its whole DER
      return `#${hex(der.subarray(pos, tlv.end))}`;
  }
}

/** Reads a Name (SEQUENCE OF SET OF AttributeTypeAndValue) whose element is `name`. */
function readName(der: Uint8Array, name: Tlv, what: string): Attribute[] {
  const out: Attribute[] = [];
  for (let pos = name.start; pos < name.end;) {
    const rdn = expectTlv(der, pos, name.end, SET, `${what} RDN`);
    if (rdn.start === rdn.end) fail(`${what} RDN`, "an empty set", pos);
    for (let p = rdn.start; p < rdn.end;) {
      const atv = expectTlv(der, p, rdn.end, SEQUENCE, `${what} attribute`);
      const oid = expectTlv(der, atv.start, atv.end, OBJECT_IDENTIFIER, `${what} attribute type`);
      const type = oidText(der, oid, `${what} attribute type`);
      const value = readTlv(der, oid.end, atv.end, `${what} ${type} value`);
      if (value.end !== atv.end) fail(`${what} ${type}`, "bytes after the value", value.end);
      out.push({
        type: ATTRIBUTE_NAMES[type] ?? type,
        value: stringValue(der, value, oid.end, `${what} ${type} value`),
      });
      p = atv.end;
    }
    pos = rdn.end;
  }
  return out;
}

const UTC_TIME_RE = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/;
const GENERALIZED_TIME_RE = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d*[1-9]))?Z$/;

/** Reads a Time (UTCTime or GeneralizedTime, RFC 5280 4.1.2.5: always UTC, with seconds). */
function readTime(der: Uint8Array, pos: number, end: number, what: string): [Date, number] {
  const tlv = readTlv(der, pos, end, what);
  const text = latin1(der.subarray(tlv.start, tlv.end));
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === UTC_TIME) {
    m = UTC_TIME_RE.exec(text);
    if (!m) fail(what, `UTCTime "${text}" is not YYMMDDHHMMSSZ`, pos);
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy; // RFC 5280 4.1.2.5.1: 50..99 are 19xx
  } else if (tlv.tag === GENERALIZED_TIME) {
    m = GENERALIZED_TIME_RE.exec(text);
    if (!m) fail(what, `GeneralizedTime "${text}" is not YYYYMMDDHHMMSS[.f]Z`, pos);
    year = Number(m[1]);
  } else {
    return fail(
      what,
      `expected UTCTime or GeneralizedTime, found tag 0x${tlv.tag.toString(16)}`,
      pos,
    );
  }
  const [month, day, hour, minute, second] = m.slice(2, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear: years 0..99 stay themselves
  date.setUTCHours(hour, minute, second, ms);
  // Date rolls 31 April into 1 May; a field out of range shows as a different read-back.
  if (
    date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second
  ) {
    fail(what, `"${text}" is not a valid date and time`, pos);
  }
  return [date, tlv.end];
}

/** Parses a DER certificate (RFC 5280 4.1) into the fields of {@linkcode Certificate}. */
export function parseCertificate(der: Uint8Array): Certificate {
  if (!(der instanceof Uint8Array)) {
    throw new TypeError(`Cannot read a certificate: expected a Uint8Array, got ${typeof der}`);
  }
  const cert = expectTlv(der, 0, der.length, SEQUENCE, "Certificate");
  if (cert.end !== der.length) fail("Certificate", `${der.length - cert.end} trailing bytes`, 0);
  const tbs = expectTlv(der, cert.start, cert.end, SEQUENCE, "tbsCertificate");
  let pos = tbs.start;
  let version: 1 | 2 | 3 = 1;
  if (pos < tbs.end && der[pos] === VERSION_TAG) {
    const wrap = readTlv(der, pos, tbs.end, "version");
    const int = expectTlv(der, wrap.start, wrap.end, INTEGER, "version");
    const v = der[int.start];
    if (int.end !== wrap.end || int.end - int.start !== 1 || v === undefined || v > 2) {
      fail("version", "expected INTEGER 0, 1 or 2 (v1, v2, v3)", wrap.start);
    }
    version = (v + 1) as 1 | 2 | 3;
    pos = wrap.end;
  }
  const serial = expectTlv(der, pos, tbs.end, INTEGER, "serialNumber");
  if (serial.start === serial.end) fail("serialNumber", "an empty INTEGER", pos);
  const sigAlg = expectTlv(der, serial.end, tbs.end, SEQUENCE, "signature algorithm");
  const issuerTlv = expectTlv(der, sigAlg.end, tbs.end, SEQUENCE, "issuer");
  const issuer = readName(der, issuerTlv, "issuer");
  const validity = expectTlv(der, issuerTlv.end, tbs.end, SEQUENCE, "validity");
  const [notBefore, afterPos] = readTime(der, validity.start, validity.end, "notBefore");
  const [notAfter, endPos] = readTime(der, afterPos, validity.end, "notAfter");
  if (endPos !== validity.end) fail("validity", "bytes after notAfter", endPos);
  const subjectTlv = expectTlv(der, validity.end, tbs.end, SEQUENCE, "subject");
  const subject = readName(der, subjectTlv, "subject");
  expectTlv(der, subjectTlv.end, tbs.end, SEQUENCE, "subjectPublicKeyInfo");
  // The rest of tbsCertificate (unique ids, extensions) is not read; the signature must follow.
  const outerAlg = expectTlv(der, tbs.end, cert.end, SEQUENCE, "signatureAlgorithm");
  const sig = expectTlv(der, outerAlg.end, cert.end, BIT_STRING, "signatureValue");
  if (sig.end !== cert.end) fail("Certificate", "bytes after signatureValue", sig.end);
  return {
    version,
    serialNumber: hex(der.subarray(serial.start, serial.end)).replace(/^00(?=[89a-f])/, "")
      .toUpperCase(),
    issuer,
    notBefore,
    notAfter,
    subject,
  };
}

/** Parses a DER Name (SEQUENCE OF RelativeDistinguishedName), e.g. to test a string type. */
export function parseName(der: Uint8Array): Attribute[] {
  if (!(der instanceof Uint8Array)) {
    throw new TypeError(`Cannot read a name: expected a Uint8Array, got ${typeof der}`);
  }
  const name = expectTlv(der, 0, der.length, SEQUENCE, "Name");
  if (name.end !== der.length) fail("Name", `${der.length - name.end} trailing bytes`, 0);
  return readName(der, name, "name");
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The DER of every `-----BEGIN <label>-----` block of `text` (RFC 7468), in order; text around
 * the blocks (openssl's "Bag Attributes", comments) is ignored. `[]` when there is none.
 */
export function pemBlocks(text: string, label: string): Uint8Array[] {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot read PEM: expected a string, got ${typeof text}`);
  }
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const out: Uint8Array[] = [];
  for (let at = text.indexOf(begin); at >= 0; at = text.indexOf(begin, at)) {
    const stop = text.indexOf(end, at + begin.length);
    if (stop < 0) throw new SyntaxError(`Cannot read PEM: "${begin}" has no "${end}"`);
    const body = text.slice(at + begin.length, stop).replace(/\s+/g, "");
    if (body === "" || body.length % 4 !== 0 || !BASE64_RE.test(body)) {
      throw new SyntaxError(`Cannot read PEM: the ${label} block is not base64`);
    }
    out.push(Uint8Array.from(atob(body), (c) => c.charCodeAt(0)));
    at = stop + end.length;
  }
  return out;
}

/** Parses the first CERTIFICATE block of PEM `text` (a chain's first is the leaf). */
export function parsePemCertificate(text: string): Certificate {
  const [der] = pemBlocks(text, "CERTIFICATE");
  if (!der) throw new SyntaxError("Cannot read PEM: no -----BEGIN CERTIFICATE----- block");
  return parseCertificate(der);
}

/** The first non-empty CN of a name, trimmed; null when it has none. */
export function commonName(name: readonly Attribute[]): string | null {
  for (const a of name) {
    if (a.type === "CN" && a.value.trim() !== "") return a.value.trim();
  }
  return null;
}

/** A name as one line, `O=Edge, CN=07048933` (certificate order); `,` `+` `\` escaped. */
export function nameText(name: readonly Attribute[]): string {
  return name.map((a) => `${a.type}=${a.value.replace(/[\\,+]/g, (c) => `\\${c}`)}`).join(", ");
}

/** A certificate time as ISO 8601 to the second, e.g. `2034-01-01T12:00:00Z`. */
export function timeText(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}
