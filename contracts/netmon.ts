/**
 * Events and commands on netmon's Unix socket (protocol.md §6): newline-delimited JSON.
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
  /** Lower-case MAC with colons. */
  mac_address: string;
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
  mac_address: z.string(),
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

/** Requests a client may send to netmon. Anything else is answered with an error line. */
export interface NetmonCommand {
  /** `get_status`: counters and interfaces; `resync`: re-dump now and publish differences. */
  command: "get_status" | "resync";
}

/**
 * Schema of {@linkcode NetmonCommand}.
 *
 * @example
 * ```ts
 * import { NetmonCommand } from "@edge-orchestrator/contracts";
 * console.assert(NetmonCommand.safeParse({ command: "get_status" }).success);
 * console.assert(!NetmonCommand.safeParse({ command: "exec" }).success);
 * ```
 */
export const NetmonCommand: z.ZodType<NetmonCommand> = z.object({
  command: z.enum(["get_status", "resync"]),
});

/** netmon's answer line to a command. */
export interface NetmonReply {
  /** Always `"reply"`. */
  type: "reply";
  /** The command answered, or null when the line could not be read. */
  command: string | null;
  /** Outcome. */
  status: "ok" | "error";
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
 * NetmonReply.parse({ type: "reply", command: null, status: "error", error: "not JSON" });
 * ```
 */
export const NetmonReply: z.ZodType<NetmonReply> = z.object({
  type: z.literal("reply"),
  command: z.string().nullable(),
  status: z.enum(["ok", "error"]),
  error: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
