/**
 * Numbers from the Linux UAPI headers (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
 * linux/if_addr.h, linux/socket.h). Kept in one place so that the parser, the request encoder and
 * the FFI layer agree.
 *
 * @module
 */

/** Netlink messages and attributes are aligned to 4 bytes (NLMSG_ALIGNTO, RTA_ALIGNTO). */
export const ALIGN = 4;
/** sizeof(struct nlmsghdr): len u32, type u16, flags u16, seq u32, pid u32. */
export const NLMSG_HDRLEN = 16;
/** sizeof(struct ifinfomsg): family u8, pad u8, type u16, index i32, flags u32, change u32. */
export const IFINFOMSG_LEN = 16;
/** sizeof(struct ifaddrmsg): family, prefixlen, flags, scope (u8 each), index u32. */
export const IFADDRMSG_LEN = 8;
/** sizeof(struct rtmsg): eight u8 fields, then flags u32. */
export const RTMSG_LEN = 12;
/** sizeof(struct rtattr): len u16, type u16. */
export const RTA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
/** The dump was interrupted by a change while it ran: its content may be inconsistent. */
export const NLM_F_DUMP_INTR = 0x10;
/** NLM_F_ROOT | NLM_F_MATCH. */
export const NLM_F_DUMP = 0x300;

/** Attribute type bits that are flags, not part of the type. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_NETLINK = 16;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_WIRELESS = 11;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
/** sizeof(struct rtnexthop): len u16, flags u8, hops u8, ifindex i32. */
export const RTNH_LEN = 8;

export const RT_TABLE_MAIN = 254;

/** ifinfomsg.ifi_flags bits (linux/if.h). */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_LOWER_UP = 0x10000;

/** IFLA_OPERSTATE values (RFC 2863). */
export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_UP = 6;

/** Multicast groups (the legacy bitmask form used in sockaddr_nl.nl_groups). */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV4_ROUTE = 0x40;

/** errno values the monitor branches on (asm-generic/errno*.h). */
export const EAGAIN = 11;
export const EINTR = 4;
export const ENOBUFS = 105;
