/**
 * Pure reading of one client line into a command, and the shaping of its reply.
 *
 * Two kinds of clients talk to netmon (netmon/README.md "Replies"):
 * - ours send `{"command":..., "id":...}` and get a typed reply `{type:"reply", id, command,
 *   status, success, data | error}`, routed by `type` and matched by `id`;
 * - the original (Python) agent sends `{"command":..., ...params}` without `id` and routes every
 *   line without `type` to its pending command (reference §9.1), so it gets the original's
 *   untyped shape `{success, ...}` at once, for every command, supported or not.
 *
 * @module
 */
import type { NetmonCommand, NetmonPlainReply, NetmonReply } from "../contracts/mod.ts";

/** A command netmon runs; the rest are answered with an error. */
export type Supported = NetmonCommand["command"];

/**
 * The commands of contracts' `NetmonCommand`, checked by hand: loading zod at run time costs
 * about 17 MiB of RSS (see ipv4_net.ts). `commands_test.ts` checks agreement with the schema.
 */
export const SUPPORTED: readonly Supported[] = [
  "get_status",
  "resync",
  "get_netlink_status",
  "get_dhcp_status",
  "get_device_status",
];

/**
 * The original netmon's commands this netmon does not do (reference §9.3), with the reason given
 * to the caller. They are answered at once: the original agent waits 15 s for silence.
 */
export const UNSUPPORTED: Readonly<Record<string, string>> = {
  start_dhcp: "this netmon runs no DHCP clients",
  stop_dhcp: "this netmon runs no DHCP clients",
  request_wifi_dhcp: "this netmon runs no DHCP clients",
  setup_proxy_arp_bridge: "this netmon builds no proxy-ARP bridges",
  cleanup_proxy_arp_bridge: "this netmon builds no proxy-ARP bridges",
  cleanup_all_proxy_arp: "this netmon builds no proxy-ARP bridges",
  move_nic_to_container: "this netmon moves no NICs",
  return_nic_to_host: "this netmon moves no NICs",
  check_nic_in_container: "this netmon moves no NICs",
  discover_devices: "this netmon does not watch serial devices",
};

/** How the reply is shaped: typed (the request had an `id`) or the original's untyped shape. */
export type Shape = "typed" | "plain";

/** Request ids: a string of at most 64 characters or an integer (contracts' `requestId`). */
const MAX_ID_CHARS = 64;

/** A command to run, or the error to answer; both know how to shape their reply. */
export type ReadCommand =
  | { kind: "command"; command: Supported; shape: Shape; id?: string | number }
  | { kind: "error"; command: string | null; shape: Shape; id?: string | number; error: string };

/** The list named in error texts. */
const SUPPORTED_TEXT = SUPPORTED.join(", ");

function readId(value: unknown): { id?: string | number } | { bad: string } {
  if (value === undefined) return {};
  if (typeof value === "string" && value.length <= MAX_ID_CHARS) return { id: value };
  if (typeof value === "number" && Number.isSafeInteger(value)) return { id: value };
  return {
    bad: `Invalid "id": expected a string of up to ${MAX_ID_CHARS} characters or an integer`,
  };
}

/** Reads one line (without its newline). */
export function readCommand(line: string): ReadCommand {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // The original's text. Who sent it cannot be told (no id to read): answer typed, since the
    // original agent only ever sends json.dumps() output.
    return { kind: "error", command: null, shape: "typed", error: "Invalid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      kind: "error",
      command: null,
      shape: "typed",
      error: 'Cannot read command: expected an object like {"command":"get_status","id":1}',
    };
  }
  const record = value as Record<string, unknown>;
  const id = readId(record.id);
  const shape: Shape = "id" in record ? "typed" : "plain";
  const name = typeof record.command === "string" ? record.command : null;
  if ("bad" in id) return { kind: "error", command: name, shape, error: id.bad };
  if (name === null) {
    return {
      kind: "error",
      command: null,
      shape,
      ...id,
      error: `Missing command: expected "command" as a string (${SUPPORTED_TEXT})`,
    };
  }
  const known = SUPPORTED.find((c) => c === name);
  if (known) return { kind: "command", command: known, shape, ...id };
  const why = Object.hasOwn(UNSUPPORTED, name) ? UNSUPPORTED[name] : undefined;
  return {
    kind: "error",
    command: name,
    shape,
    ...id,
    // Unknown names get the original's exact text; known-but-unsupported ones say why.
    error: why
      ? `Not supported by this netmon: ${name} (${why}; it answers ${SUPPORTED_TEXT})`
      : `Unknown command: ${name}`,
  };
}

/** The reply to a command that ran: `body` is its result (the original's fields plus ours). */
export function okReply(
  read: Extract<ReadCommand, { kind: "command" }>,
  body: Record<string, unknown>,
): NetmonReply | NetmonPlainReply {
  if (read.shape === "plain") return { success: true, ...body };
  return {
    type: "reply",
    ...(read.id === undefined ? {} : { id: read.id }),
    command: read.command,
    status: "ok",
    success: true,
    data: body,
  };
}

/** The reply to a command that was refused or failed. */
export function errorReply(
  read: { command: string | null; shape: Shape; id?: string | number },
  error: string,
): NetmonReply | NetmonPlainReply {
  if (read.shape === "plain") return { success: false, error };
  return {
    type: "reply",
    ...(read.id === undefined ? {} : { id: read.id }),
    command: read.command,
    status: "error",
    success: false,
    error,
  };
}

/** What `get_status` knows about this netmon (monitor status plus the server's client count). */
export interface StatusFacts {
  /** Monitor.status() plus `clients`: the data of our typed get_status reply. */
  ours: Record<string, unknown> & {
    change_pending: boolean;
    dump_failures_in_a_row: number;
    clients: number;
  };
}

/** The original's `get_device_status` status: this netmon watches no serial devices. */
const DEVICES_STATUS = { running: false, pyudev_available: false, cached_devices: 0, devices: [] };

/**
 * The result of a status query, in the original's field names (reference §9.3) so the original
 * agent reads them, plus ours beside them for `get_status`. Pure.
 */
export function statusBody(
  command: Exclude<Supported, "resync">,
  facts: StatusFacts,
): Record<string, unknown> {
  const { ours } = facts;
  const netlink = {
    // The process exits when its netlink loop ends, so a netmon that answers is running.
    running: true,
    degraded: ours.dump_failures_in_a_row > 0,
    consecutive_errors: ours.dump_failures_in_a_row,
    socket_active: true,
  };
  // No DHCP client runs here: the original keys this map by "<container>:<vnic>".
  const dhcp = {};
  switch (command) {
    case "get_netlink_status":
      return { status: netlink };
    case "get_dhcp_status":
      return { status: dhcp };
    case "get_device_status":
      return { status: DEVICES_STATUS };
    case "get_status":
      return {
        status: {
          netlink,
          dhcp,
          devices: DEVICES_STATUS,
          clients_connected: ours.clients,
          // The original counts interfaces waiting for its debounce; ours re-dumps everything
          // once the burst settles, so "one change pending" is all it can say.
          pending_changes: ours.change_pending ? 1 : 0,
        },
        ...ours,
      };
  }
}
