/**
 * Pure netlink encoding: the three dump requests netmon sends, and a generic message encoder
 * (header + fixed struct + attributes) used by the round-trip tests on captured fixtures.
 *
 * @module
 */
import * as C from "./netlink_constants.ts";
import {
  align,
  type Attribute,
  HOST_LITTLE_ENDIAN as LE,
  type NlHeader,
} from "./netlink_parser.ts";

/** What a dump request asks for. */
export type DumpKind = "link" | "addr" | "route";

/** Encodes attributes, each padded to 4 bytes. */
export function encodeAttributes(attrs: Attribute[]): Uint8Array {
  const size = attrs.reduce((n, a) => n + align(C.RTA_HDRLEN + a.value.length), 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const a of attrs) {
    dv.setUint16(off, C.RTA_HDRLEN + a.value.length, LE);
    dv.setUint16(off + 2, a.type | (a.nested ? C.NLA_F_NESTED : 0), LE);
    out.set(a.value, off + C.RTA_HDRLEN);
    off += align(C.RTA_HDRLEN + a.value.length);
  }
  return out;
}

/** Encodes one message; `nlmsg_len` is computed (the header's `len` is ignored). */
export function encodeMessage(header: Omit<NlHeader, "len">, body: Uint8Array): Uint8Array {
  const len = C.NLMSG_HDRLEN + body.length;
  const out = new Uint8Array(align(len));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, LE);
  dv.setUint16(4, header.type, LE);
  dv.setUint16(6, header.flags, LE);
  dv.setUint32(8, header.seq, LE);
  dv.setUint32(12, header.pid, LE);
  out.set(body, C.NLMSG_HDRLEN);
  return out;
}

/**
 * A dump request (NLM_F_REQUEST | NLM_F_DUMP). Links are asked for in every family (ifinfomsg
 * with AF_UNSPEC), addresses and routes in AF_INET only: netmon publishes IPv4 only.
 */
export function dumpRequest(kind: DumpKind, seq: number): Uint8Array {
  const flags = C.NLM_F_REQUEST | C.NLM_F_DUMP;
  switch (kind) {
    case "link":
      return encodeMessage(
        { type: C.RTM_GETLINK, flags, seq, pid: 0 },
        new Uint8Array(C.IFINFOMSG_LEN), // ifi_family AF_UNSPEC, everything else 0
      );
    case "addr": {
      const body = new Uint8Array(C.IFADDRMSG_LEN);
      body[0] = C.AF_INET;
      return encodeMessage({ type: C.RTM_GETADDR, flags, seq, pid: 0 }, body);
    }
    case "route": {
      const body = new Uint8Array(C.RTMSG_LEN);
      body[0] = C.AF_INET;
      return encodeMessage({ type: C.RTM_GETROUTE, flags, seq, pid: 0 }, body);
    }
  }
}
