/**
 * Fields shared by every cloud message, and the building blocks used by the topic schemas.
 *
 * @module
 */
import { z } from "zod";
import { commonShape, RUNTIME_NAME_RE } from "./_internal.ts";

/** Fields every cloud message may carry (protocol.md §2). Unknown extra fields are ignored. */
export interface CommonFields {
  /** Number the cloud uses to match the ack with its request; echoed in the ack. */
  correlation_id?: number | null;
  /** Topic name as the cloud wrote it (informational). */
  action?: string;
  /** ISO 8601 date-time of the request; a trailing `Z` or an offset is allowed. */
  requested_at?: string;
}

/**
 * Schema of {@linkcode CommonFields}.
 *
 * @example Parse the common fields of a message
 * ```ts
 * import { CommonFields } from "@edge-orchestrator/contracts";
 * const fields = CommonFields.parse({ correlation_id: 7, requested_at: "2026-01-01T00:00:00Z" });
 * console.assert(fields.correlation_id === 7);
 * ```
 */
export const CommonFields: z.ZodType<CommonFields> = z.object(commonShape);

/**
 * Docker-safe runtime name: what the cloud sends as `container_name` / `device_id`. It becomes
 * a container name and part of a network name (`<name>_internal`), so it is kept to Docker's
 * name alphabet and 63 characters (a DNS label: the runtime's host name).
 *
 * @example
 * ```ts
 * import { RUNTIME_NAME_PATTERN } from "@edge-orchestrator/contracts";
 * console.assert(RUNTIME_NAME_PATTERN.test("plc-line-1"));
 * console.assert(!RUNTIME_NAME_PATTERN.test("../etc"));
 * ```
 */
export const RUNTIME_NAME_PATTERN: RegExp = RUNTIME_NAME_RE;

/** Device id of the orchestrator itself, polled during self-destruct (`delete_orchestrator`). */
export const ORCHESTRATOR_DEVICE_ID = "__orchestrator__";

/** Ack error shape: one line for humans, every problem for programs (protocol.md §2). */
export interface ErrorAck {
  /** The topic this ack answers. */
  action: string;
  /** Echo of the request's `correlation_id`, or null. */
  correlation_id: number | null;
  /** Always `"error"`. */
  status: "error";
  /** One line, starting with `Missing required field: ` or `Invalid field type: ` for bad input. */
  error: string;
  /** Every validation problem, by field path (`vnic_configs[1].parent_interface`). */
  errors?: { path: string; message: string }[];
}

/**
 * Schema of {@linkcode ErrorAck}.
 *
 * @example
 * ```ts
 * import { ErrorAck } from "@edge-orchestrator/contracts";
 * ErrorAck.parse({ action: "stop_device", correlation_id: null, status: "error", error: "Device not found: x" });
 * ```
 */
export const ErrorAck: z.ZodType<ErrorAck> = z.object({
  action: z.string(),
  correlation_id: z.number().nullable(),
  status: z.literal("error"),
  error: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
