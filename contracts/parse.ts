/**
 * One function from (topic, payload) to either a typed message or the exact error ack of
 * protocol.md §2. It never throws on any payload.
 *
 * @module
 */
import type { z } from "zod";
import type { ErrorAck } from "./common.ts";
import { type TopicMessages, type TopicName, TOPICS } from "./topics.ts";

/** Result of {@linkcode parseMessage}. */
export type ParseResult<K extends TopicName> =
  | { ok: true; message: TopicMessages[K]; correlation_id: number | null }
  | { ok: false; ack: ErrorAck; correlation_id: number | null };

/**
 * Formats a zod issue path the way the cloud reads it: `vnic_configs[1].parent_interface`.
 *
 * @example
 * ```ts
 * import { formatPath } from "@edge-orchestrator/contracts";
 * console.assert(formatPath(["vnic_configs", 1, "parent_interface"]) === "vnic_configs[1].parent_interface");
 * ```
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

/**
 * The correlation id of a raw payload, or null when it has none usable.
 *
 * @example
 * ```ts
 * import { correlationIdOf } from "@edge-orchestrator/contracts";
 * console.assert(correlationIdOf({ correlation_id: 5 }) === 5 && correlationIdOf("x") === null);
 * ```
 */
export function correlationIdOf(payload: unknown): number | null {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return null;
  const id = (payload as Record<string, unknown>).correlation_id;
  return typeof id === "number" && Number.isFinite(id) ? id : null;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Builds the error ack of protocol.md §2 from a list of problems.
 *
 * @example
 * ```ts
 * import { errorAck } from "@edge-orchestrator/contracts";
 * const ack = errorAck("stop_device", 1, "Device not found: plc9");
 * console.assert(ack.status === "error" && ack.correlation_id === 1);
 * ```
 */
export function errorAck(
  action: string,
  correlationId: number | null,
  error: string,
  errors?: { path: string; message: string }[],
): ErrorAck {
  const ack: ErrorAck = { action, correlation_id: correlationId, status: "error", error };
  if (errors) ack.errors = errors;
  return ack;
}

/** Turns zod issues into `{path, message}` lines and the one-line summary. */
function problems(payload: unknown, issues: readonly z.core.$ZodIssue[]) {
  const errors: { path: string; message: string; missing: boolean }[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    const missing = (issue.code === "invalid_type" && valueAt(payload, issue.path) === undefined) ||
      (issue.code === "custom" &&
        (issue as { params?: { missing?: boolean } }).params?.missing === true);
    const message = missing ? "is required" : issue.message;
    if (!errors.some((e) => e.path === path && e.message === message)) {
      errors.push({ path, message, missing });
    }
  }
  return errors;
}

/**
 * Validates `payload` for `topic`. Returns the typed, normalised message, or the error ack with
 * the prefixes of the current agent (`Missing required field: ` / `Invalid field type: `), the
 * first problem in `error` and every problem in `errors`. Never throws.
 *
 * @example A good and a bad message
 * ```ts
 * import { parseMessage } from "@edge-orchestrator/contracts";
 * const good = parseMessage("delete_device", { device_id: "plc1", correlation_id: 9 });
 * console.assert(good.ok && good.message.device_id === "plc1");
 * const bad = parseMessage("delete_device", { correlation_id: 9 });
 * console.assert(!bad.ok && bad.ack.error === "Missing required field: device_id");
 * const notObject = parseMessage("delete_device", "hello");
 * console.assert(!notObject.ok && notObject.ack.error.startsWith("Invalid field type: "));
 * ```
 */
export function parseMessage<K extends TopicName>(topic: K, payload: unknown): ParseResult<K> {
  const correlation_id = correlationIdOf(payload);
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    const message = `message must be a JSON object, got ${describe(payload)}`;
    return {
      ok: false,
      correlation_id,
      ack: errorAck(topic, correlation_id, `Invalid field type: ${message}`, [{
        path: "",
        message,
      }]),
    };
  }
  let result;
  try {
    result = TOPICS[topic].request.safeParse(payload);
  } catch (err) {
    // Defensive: a schema must not throw, but a getter on an exotic object could.
    const message = `message could not be read: ${err instanceof Error ? err.message : err}`;
    return {
      ok: false,
      correlation_id,
      ack: errorAck(topic, correlation_id, `Invalid field type: ${message}`, [{
        path: "",
        message,
      }]),
    };
  }
  if (result.success) return { ok: true, message: result.data, correlation_id };
  const list = problems(payload, result.error.issues);
  const first = list.find((p) => p.missing) ?? list[0]!;
  const line = first.missing
    ? `Missing required field: ${first.path}`
    : `Invalid field type: ${first.path || "message"} (${first.message})`;
  return {
    ok: false,
    correlation_id,
    ack: errorAck(
      topic,
      correlation_id,
      line,
      list.map(({ path, message }) => ({ path, message })),
    ),
  };
}
