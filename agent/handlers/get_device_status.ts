/**
 * `get_device_status`: the running or failed operation, else the container's state, else
 * `not_found` (protocol.md §3). `__orchestrator__` reports the self-destruct.
 *
 * @module
 */
import type { Handler } from "./types.ts";

/** Dependencies. */
export interface GetDeviceStatusDeps {
  /** The read-only runtime view. */
  runtimes: { status(device: string): Promise<Record<string, unknown>> };
}

/** Handler. */
export const getDeviceStatus: Handler<"get_device_status", GetDeviceStatusDeps> = (deps, msg) =>
  deps.runtimes.status(msg.device_id);
