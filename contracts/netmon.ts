/**
 * Events and commands on netmon's Unix socket (protocol.md §6): newline-delimited JSON.
 *
 * Two netmons and two agents meet on this socket during an upgrade from the Python agent
 * (original-agent-reference.md §9), so the contracts describe both dialects:
 * - events always carry `type`; ours are {@linkcode NetmonEvent}, the original's extra ones
 *   (serial devices, DHCP leases) are {@linkcode NetmonOriginalEvent};
 * - a command carrying `id` gets a typed {@linkcode NetmonReply} (`type: "reply"`, the same `id`);
 *   a command without `id` (the original agent) gets the original's untyped
 *   {@linkcode NetmonPlainReply} (`{success, ...}`), matched by order.
 *
 * Compatibility rule: fields are added, never dropped (`netmon_test.ts` checks the exported JSON
 * Schemas against the first published ones in `testdata/netmon_v1/`).
 *
 * @module
 */
import { z } from "zod";
import { cidr, ipv4 } from "./_internal.ts";

/** One IPv4 address of an interface. */
export interface NetmonAddress {
  /** Dotted address. */
  address: string;
  /** Prefix length, 0-32. */
  prefixlen: number;
  /** Network as CIDR, e.g. `"192.0.2.0/24"`. */
  subnet: string;
  /** Network address, e.g. `"192.0.2.0"`. */
  network_address: string;
}

/** An interface as netmon publishes it. */
export interface NetmonInterface {
  /** Interface name. */
  interface: string;
  /** Kernel ifindex. */
  index: number;
  /** Only UP interfaces are listed. */
  operstate: "UP";
  /** Wireless interfaces are `"wifi"`. */
  type: "ethernet" | "wifi";
  /**
   * Lower-case MAC with colons. Our netmon always sends it; the original netmon sends none, so a
   * reader must not depend on it.
   */
  mac_address?: string;
  /** IPv4 addresses, possibly empty. */
  ipv4_addresses: NetmonAddress[];
  /** Default route's gateway through this interface, or null. */
  gateway: string | null;
  /** ISO 8601 date-time of the snapshot. */
  timestamp: string;
}

const address = z.object({
  address: ipv4,
  prefixlen: z.number().int().min(0).max(32),
  subnet: cidr,
  network_address: ipv4,
});

/** @internal */
const ifaceShape = z.object({
  interface: z.string().min(1),
  index: z.number().int().min(0),
  operstate: z.literal("UP"),
  type: z.enum(["ethernet", "wifi"]),
  mac_address: z.string().optional(),
  ipv4_addresses: z.array(address),
  gateway: ipv4.nullable(),
  timestamp: z.string(),
});

/**
 * Schema of {@linkcode NetmonInterface}.
 *
 * @example
 * ```ts
 * import { NetmonInterface } from "@edge-orchestrator/contracts";
 * NetmonInterface.parse({
 *   interface: "ens37", index: 3, operstate: "UP", type: "ethernet",
 *   mac_address: "02:00:00:00:00:01", gateway: "198.51.100.1", timestamp: "2026-11-25T12:00:00Z",
 *   ipv4_addresses: [{ address: "198.51.100.5", prefixlen: 24, subnet: "198.51.100.0/24", network_address: "198.51.100.0" }],
 * });
 * ```
 */
export const NetmonInterface: z.ZodType<NetmonInterface> = ifaceShape;

/** Sent to every client on connect: the full picture. */
export interface NetworkDiscoveryEvent {
  /** Event type. */
  type: "network_discovery";
  /** Every UP, non-virtual interface. */
  data: { interfaces: NetmonInterface[]; timestamp: string };
}

/** An interface that went down or disappeared, sent at once. */
export interface InterfaceGone {
  /** Interface name. */
  interface: string;
  /** Always empty. */
  ipv4_addresses: [];
  /** What happened. */
  status: "down" | "removed";
  /** ISO 8601 date-time (added by us; optional on the wire). */
  timestamp?: string;
}

/** One interface changed (after the debounce) or went away (at once). */
export interface NetworkChangeEvent {
  /** Event type. */
  type: "network_change";
  /** The interface's new state. */
  data: NetmonInterface | InterfaceGone;
}

/** Anything netmon sends. */
export type NetmonEvent = NetworkDiscoveryEvent | NetworkChangeEvent;

const gone = z.object({
  interface: z.string().min(1),
  ipv4_addresses: z.tuple([]),
  status: z.enum(["down", "removed"]),
  timestamp: z.string().optional(),
});

/**
 * Schema of {@linkcode NetmonEvent}.
 *
 * @example
 * ```ts
 * import { NetmonEvent } from "@edge-orchestrator/contracts";
 * const e = NetmonEvent.parse({
 *   type: "network_change", data: { interface: "ens37", ipv4_addresses: [], status: "down" },
 * });
 * console.assert(e.type === "network_change");
 * ```
 */
export const NetmonEvent: z.ZodType<NetmonEvent> = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("network_discovery"),
    data: z.object({ interfaces: z.array(ifaceShape), timestamp: z.string() }),
  }),
  z.object({ type: z.literal("network_change"), data: z.union([gone, ifaceShape]) }),
]);

/**
 * Requests a client may send to netmon. Anything else is answered at once with an error reply
 * (the original agent's `start_dhcp`, `move_nic_to_container`, ... included).
 */
export interface NetmonCommand {
  /**
   * `get_status`: counters and interfaces (plus the original's `status` object); `resync`: re-dump
   * now and publish differences; `get_netlink_status`, `get_dhcp_status`, `get_device_status`:
   * the original's status queries, answered truthfully for this netmon.
   */
  command:
    | "get_status"
    | "resync"
    | "get_netlink_status"
    | "get_dhcp_status"
    | "get_device_status";
  /** Asks for a typed reply carrying the same id. Without it the reply is the original's shape. */
  id?: string | number;
}

/** Names of {@linkcode NetmonCommand}. */
export const NETMON_COMMANDS: readonly NetmonCommand["command"][] = [
  "get_status",
  "resync",
  "get_netlink_status",
  "get_dhcp_status",
  "get_device_status",
];

/** A request id: short, so a reply line stays small. */
const requestId = z.union([z.string().max(64), z.number().int()]);

/**
 * Schema of {@linkcode NetmonCommand}.
 *
 * @example
 * ```ts
 * import { NetmonCommand } from "@edge-orchestrator/contracts";
 * console.assert(NetmonCommand.safeParse({ command: "get_status" }).success);
 * console.assert(NetmonCommand.safeParse({ command: "get_status", id: 7 }).success);
 * console.assert(!NetmonCommand.safeParse({ command: "exec" }).success);
 * ```
 */
export const NetmonCommand: z.ZodType<NetmonCommand> = z.object({
  command: z.enum(NETMON_COMMANDS as [NetmonCommand["command"], ...NetmonCommand["command"][]]),
  id: requestId.optional(),
});

/** netmon's typed answer to a command that carried an `id` (ours). */
export interface NetmonReply {
  /** Always `"reply"`. */
  type: "reply";
  /** The request's `id` (absent only when the line could not be read). */
  id?: string | number;
  /** The command answered, or null when the line could not be read. */
  command: string | null;
  /** Outcome. */
  status: "ok" | "error";
  /** Same outcome as the original's replies spell it (`status === "ok"`). */
  success?: boolean;
  /** Why it failed. */
  error?: string;
  /** Command-specific result. */
  data?: Record<string, unknown>;
}

/**
 * Schema of {@linkcode NetmonReply}.
 *
 * @example
 * ```ts
 * import { NetmonReply } from "@edge-orchestrator/contracts";
 * NetmonReply.parse({ type: "reply", command: null, status: "error", error: "Invalid JSON" });
 * ```
 */
export const NetmonReply: z.ZodType<NetmonReply> = z.object({
  type: z.literal("reply"),
  id: requestId.optional(),
  command: z.string().nullable(),
  status: z.enum(["ok", "error"]),
  success: z.boolean().optional(),
  error: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A reply in the original netmon's shape (reference §9.3): no `type`, so the original agent routes
 * it as the answer to its pending command. Command-specific fields sit beside `success`
 * (`status`, `message`, `present`, ...).
 */
export interface NetmonPlainReply {
  /** Outcome. */
  success: boolean;
  /** Why it failed. */
  error?: string;
  /** Command-specific fields. */
  [field: string]: unknown;
}

/**
 * Schema of {@linkcode NetmonPlainReply}: any object with a boolean `success` and no `type`.
 *
 * @example
 * ```ts
 * import { NetmonPlainReply } from "@edge-orchestrator/contracts";
 * NetmonPlainReply.parse({ success: false, error: "Unknown command: exec" });
 * console.assert(!NetmonPlainReply.safeParse({ type: "reply", success: true }).success);
 * ```
 */
export const NetmonPlainReply: z.ZodType<NetmonPlainReply> = z.looseObject({
  type: z.never().optional(),
  success: z.boolean(),
  error: z.string().optional(),
});

/** A serial device as the original netmon describes it (reference §9.2). */
export interface NetmonSerialDevice {
  /** `/dev/ttyUSB0`, ... */
  path: string;
  /** `/dev/serial/by-id/...`, or null. */
  by_id: string | null;
  /** Other fields (major, minor, vendor_id, product_id, serial, subsystem, ...). */
  [field: string]: unknown;
}

/** Events only the original netmon sends; this project's agent reads and ignores them. */
export type NetmonOriginalEvent =
  | { type: "device_discovery"; data: { devices: NetmonSerialDevice[]; timestamp?: string } }
  | { type: "device_change"; data: { action: "add" | "remove"; device: NetmonSerialDevice } }
  | {
    type: "dhcp_update";
    data: {
      container_name: string;
      vnic_name: string;
      ip: string;
      [field: string]: unknown;
    };
  };

const serialDevice = z.looseObject({ path: z.string(), by_id: z.string().nullable() });

/**
 * Schema of {@linkcode NetmonOriginalEvent} (loose: only the fields a reader would key on).
 *
 * @example
 * ```ts
 * import { NetmonOriginalEvent } from "@edge-orchestrator/contracts";
 * NetmonOriginalEvent.parse({
 *   type: "device_change",
 *   data: { action: "remove", device: { path: "/dev/ttyUSB0", by_id: null, subsystem: "tty" } },
 * });
 * ```
 */
export const NetmonOriginalEvent: z.ZodType<NetmonOriginalEvent> = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("device_discovery"),
    data: z.looseObject({ devices: z.array(serialDevice), timestamp: z.string().optional() }),
  }),
  z.object({
    type: z.literal("device_change"),
    data: z.looseObject({ action: z.enum(["add", "remove"]), device: serialDevice }),
  }),
  z.object({
    type: z.literal("dhcp_update"),
    data: z.looseObject({ container_name: z.string(), vnic_name: z.string(), ip: z.string() }),
  }),
]);
