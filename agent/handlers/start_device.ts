/**
 * `start_device`: starts the runtime for real (idempotent); the intent is persisted.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";
import { lifecycleAck } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface StartDeviceDeps {
  /** Runtime manager. */
  runtimes: RuntimeManager;
}

/** Handler. */
export const startDevice: Handler<"start_device", StartDeviceDeps> = (deps, msg) =>
  lifecycleAck(msg.device_id, () => deps.runtimes.start(msg.device_id));
