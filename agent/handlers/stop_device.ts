/**
 * `stop_device`: stops the runtime for real (idempotent); the intent is persisted.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";
import { lifecycleAck } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface StopDeviceDeps {
  /** Runtime manager. */
  runtimes: RuntimeManager;
}

/** Handler. */
export const stopDevice: Handler<"stop_device", StopDeviceDeps> = (deps, msg) =>
  lifecycleAck(msg.device_id, () => deps.runtimes.stop(msg.device_id));
