/**
 * Typed decoding of framed netlink messages (see netlink_parser.ts for the framing). Pure.
 *
 * @module
 */
import * as C from "./netlink_constants.ts";
import {
  type AddressMessage,
  type Attribute,
  HOST_LITTLE_ENDIAN as LE,
  ipv4,
  type LinkMessage,
  mac,
  type NetlinkMessage,
  NetlinkParseError,
  type NextHop,
  parseAttributes,
  type RawMessage,
  type RouteMessage,
  splitMessages,
} from "./netlink_parser.ts";

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function need(payload: Uint8Array, size: number, what: string): DataView {
  if (payload.length < size) {
    throw new NetlinkParseError(`${what} needs ${size} bytes, got ${payload.length}`, 0);
  }
  return dv(payload);
}

function u32(v: Uint8Array | undefined): number | undefined {
  return v && v.length >= 4 ? dv(v).getUint32(0, LE) : undefined;
}

function str(v: Uint8Array | undefined): string | undefined {
  if (!v) return undefined;
  const nul = v.indexOf(0);
  return new TextDecoder().decode(nul === -1 ? v : v.subarray(0, nul));
}

function find(attrs: Attribute[], type: number): Uint8Array | undefined {
  return attrs.find((a) => a.type === type)?.value;
}

function decodeLink(m: RawMessage, op: "new" | "del"): LinkMessage {
  const d = need(m.payload, C.IFINFOMSG_LEN, "ifinfomsg");
  const attrs = parseAttributes(m.payload.subarray(C.IFINFOMSG_LEN), C.IFINFOMSG_LEN);
  const linkinfo = find(attrs, C.IFLA_LINKINFO);
  const operstate = find(attrs, C.IFLA_OPERSTATE);
  const address = find(attrs, C.IFLA_ADDRESS);
  return {
    kind: "link",
    op,
    header: m.header,
    linkType: d.getUint16(2, LE),
    index: d.getInt32(4, LE),
    flags: d.getUint32(8, LE),
    name: str(find(attrs, C.IFLA_IFNAME)),
    mac: address ? mac(address) : undefined,
    operstate: operstate && operstate.length >= 1 ? operstate[0] : undefined,
    infoKind: linkinfo ? str(find(parseAttributes(linkinfo), C.IFLA_INFO_KIND)) : undefined,
    wirelessAttr: find(attrs, C.IFLA_WIRELESS) !== undefined,
  };
}

function decodeAddress(m: RawMessage, op: "new" | "del"): AddressMessage {
  const d = need(m.payload, C.IFADDRMSG_LEN, "ifaddrmsg");
  const attrs = parseAttributes(m.payload.subarray(C.IFADDRMSG_LEN), C.IFADDRMSG_LEN);
  const local = find(attrs, C.IFA_LOCAL) ?? find(attrs, C.IFA_ADDRESS);
  return {
    kind: "addr",
    op,
    header: m.header,
    family: d.getUint8(0),
    prefixlen: d.getUint8(1),
    index: d.getUint32(4, LE),
    address: local ? ipv4(local) : undefined,
    label: str(find(attrs, C.IFA_LABEL)),
  };
}

function decodeMultipath(v: Uint8Array): NextHop[] {
  const out: NextHop[] = [];
  let off = 0;
  while (off + C.RTNH_LEN <= v.length) {
    const d = dv(v.subarray(off));
    const len = d.getUint16(0, LE);
    if (len < C.RTNH_LEN || off + len > v.length) {
      throw new NetlinkParseError(`Bad rtnexthop length ${len}`, off);
    }
    const attrs = parseAttributes(v.subarray(off + C.RTNH_LEN, off + len));
    const gw = find(attrs, C.RTA_GATEWAY);
    out.push({ ifindex: d.getInt32(4, LE), gateway: gw ? ipv4(gw) : undefined });
    off += (len + 3) & ~3;
  }
  return out;
}

function decodeRoute(m: RawMessage, op: "new" | "del"): RouteMessage {
  const d = need(m.payload, C.RTMSG_LEN, "rtmsg");
  const attrs = parseAttributes(m.payload.subarray(C.RTMSG_LEN), C.RTMSG_LEN);
  const gw = find(attrs, C.RTA_GATEWAY);
  const oif = u32(find(attrs, C.RTA_OIF));
  const multipath = find(attrs, C.RTA_MULTIPATH);
  const nexthops: NextHop[] = multipath ? decodeMultipath(multipath) : [];
  if (oif !== undefined || gw !== undefined) {
    nexthops.unshift({ ifindex: oif, gateway: gw ? ipv4(gw) : undefined });
  }
  return {
    kind: "route",
    op,
    header: m.header,
    family: d.getUint8(0),
    dstLen: d.getUint8(1),
    table: u32(find(attrs, C.RTA_TABLE)) ?? d.getUint8(4),
    routeType: d.getUint8(7),
    priority: u32(find(attrs, C.RTA_PRIORITY)),
    nexthops,
  };
}

/** Decodes one framed message. Throws only {@linkcode NetlinkParseError}. */
export function decodeMessage(m: RawMessage): NetlinkMessage {
  switch (m.header.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return decodeLink(m, m.header.type === C.RTM_NEWLINK ? "new" : "del");
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      return decodeAddress(m, m.header.type === C.RTM_NEWADDR ? "new" : "del");
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      return decodeRoute(m, m.header.type === C.RTM_NEWROUTE ? "new" : "del");
    case C.NLMSG_DONE:
      return { kind: "done", header: m.header };
    case C.NLMSG_ERROR: {
      const d = need(m.payload, 4, "nlmsgerr");
      return { kind: "error", header: m.header, errno: -d.getInt32(0, LE) };
    }
    default:
      return { kind: "other", header: m.header };
  }
}

/** Frames and decodes one datagram. Throws only {@linkcode NetlinkParseError}. */
export function decodeDatagram(datagram: Uint8Array): NetlinkMessage[] {
  try {
    return splitMessages(datagram).map(decodeMessage);
  } catch (e) {
    if (e instanceof NetlinkParseError) throw e;
    // DataView range errors on hostile input are still "garbage": report them in our type.
    throw new NetlinkParseError(`Malformed message: ${(e as Error).message}`, 0);
  }
}
