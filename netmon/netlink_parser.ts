/**
 * Pure netlink parser: bytes in, typed messages out. No I/O, no FFI. Every malformed input ends in
 * a {@linkcode NetlinkParseError}; nothing else is thrown.
 *
 * Two levels: {@linkcode splitMessages} frames a datagram into raw messages (header + payload) and
 * {@linkcode parseAttributes} splits an attribute area; {@linkcode decodeMessage} turns one raw
 * message into a typed link, address, route, done or error message.
 *
 * @module
 */
import * as C from "./netlink_constants.ts";

/** A datagram or message that does not follow the netlink framing rules. */
export class NetlinkParseError extends Error {
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "NetlinkParseError";
    this.offset = offset;
  }
}

/** struct nlmsghdr. */
export interface NlHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** One framed message: its header and the bytes after the header (nlmsg_len - 16). */
export interface RawMessage {
  header: NlHeader;
  payload: Uint8Array;
}

/** One attribute; `type` has the NESTED / NET_BYTEORDER bits removed. */
export interface Attribute {
  type: number;
  nested: boolean;
  value: Uint8Array;
}

/** Rounds up to the 4-byte netlink alignment. */
export function align(n: number): number {
  return (n + C.ALIGN - 1) & ~(C.ALIGN - 1);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Netlink uses host byte order; every Linux target we run on is little-endian, but check. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Splits one received datagram into its messages (a datagram may carry several). */
export function splitMessages(datagram: Uint8Array): RawMessage[] {
  const dv = view(datagram);
  const out: RawMessage[] = [];
  let off = 0;
  while (off + C.NLMSG_HDRLEN <= datagram.length) {
    const len = dv.getUint32(off, HOST_LITTLE_ENDIAN);
    if (len < C.NLMSG_HDRLEN) throw new NetlinkParseError(`Bad nlmsg_len ${len}`, off);
    if (off + len > datagram.length) {
      throw new NetlinkParseError(
        `Message of ${len} bytes overruns datagram of ${datagram.length}`,
        off,
      );
    }
    out.push({
      header: {
        len,
        type: dv.getUint16(off + 4, HOST_LITTLE_ENDIAN),
        flags: dv.getUint16(off + 6, HOST_LITTLE_ENDIAN),
        seq: dv.getUint32(off + 8, HOST_LITTLE_ENDIAN),
        pid: dv.getUint32(off + 12, HOST_LITTLE_ENDIAN),
      },
      payload: datagram.subarray(off + C.NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  if (off < datagram.length) {
    throw new NetlinkParseError(`${datagram.length - off} trailing bytes`, off);
  }
  return out;
}

/** Splits an attribute area (after the fixed struct) into attributes. */
export function parseAttributes(area: Uint8Array, base = 0): Attribute[] {
  const dv = view(area);
  const out: Attribute[] = [];
  let off = 0;
  while (off + C.RTA_HDRLEN <= area.length) {
    const len = dv.getUint16(off, HOST_LITTLE_ENDIAN);
    const rawType = dv.getUint16(off + 2, HOST_LITTLE_ENDIAN);
    if (len < C.RTA_HDRLEN || off + len > area.length) {
      throw new NetlinkParseError(`Bad attribute length ${len}`, base + off);
    }
    out.push({
      type: rawType & C.NLA_TYPE_MASK,
      nested: (rawType & C.NLA_F_NESTED) !== 0,
      value: area.subarray(off + C.RTA_HDRLEN, off + len),
    });
    off += align(len);
  }
  // The kernel may pad the last attribute; fewer than 4 bytes left is padding, not an error.
  return out;
}

/** Dotted IPv4 address of 4 bytes, else undefined. */
export function ipv4(v: Uint8Array): string | undefined {
  return v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined;
}

/** Lower-case MAC with colons ("" for an empty address). */
export function mac(v: Uint8Array): string {
  return [...v].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** RTM_NEWLINK / RTM_DELLINK. */
export interface LinkMessage {
  kind: "link";
  op: "new" | "del";
  header: NlHeader;
  index: number;
  /** ARPHRD_* type. */
  linkType: number;
  /** IFF_* flags. */
  flags: number;
  name: string | undefined;
  mac: string | undefined;
  operstate: number | undefined;
  /** IFLA_INFO_KIND, e.g. "veth", "bridge"; undefined for physical NICs. */
  infoKind: string | undefined;
  /** IFLA_WIRELESS was present (wireless extensions event). */
  wirelessAttr: boolean;
}

/** RTM_NEWADDR / RTM_DELADDR. */
export interface AddressMessage {
  kind: "addr";
  op: "new" | "del";
  header: NlHeader;
  family: number;
  prefixlen: number;
  index: number;
  /** IFA_LOCAL when present (the local address on point-to-point links), else IFA_ADDRESS. */
  address: string | undefined;
  label: string | undefined;
}

/** One next hop of a route (RTA_OIF/RTA_GATEWAY, or one entry of RTA_MULTIPATH). */
export interface NextHop {
  ifindex: number | undefined;
  gateway: string | undefined;
}

/** RTM_NEWROUTE / RTM_DELROUTE. */
export interface RouteMessage {
  kind: "route";
  op: "new" | "del";
  header: NlHeader;
  family: number;
  dstLen: number;
  /** RTA_TABLE when present, else rtm_table. */
  table: number;
  /** RTN_* route type (1 = unicast). */
  routeType: number;
  priority: number | undefined;
  nexthops: NextHop[];
}

/** NLMSG_DONE: end of a dump. */
export interface DoneMessage {
  kind: "done";
  header: NlHeader;
}

/** NLMSG_ERROR: `errno` 0 is an ACK, otherwise a positive errno. */
export interface ErrorMessage {
  kind: "error";
  header: NlHeader;
  errno: number;
}

/** Any other message type (NLMSG_NOOP, other families): kept so callers can count it. */
export interface OtherMessage {
  kind: "other";
  header: NlHeader;
}

/** A decoded netlink message. */
export type NetlinkMessage =
  | LinkMessage
  | AddressMessage
  | RouteMessage
  | DoneMessage
  | ErrorMessage
  | OtherMessage;
