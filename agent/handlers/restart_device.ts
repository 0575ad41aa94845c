/**
 * `restart_device`: restarts the runtime for real (idempotent); the intent is persisted.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";
import { lifecycleAck } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface RestartDeviceDeps {
  /** Runtime manager. */
  runtimes: RuntimeManager;
}

/** Handler. */
export const restartDevice: Handler<"restart_device", RestartDeviceDeps> = (deps, msg) =>
  lifecycleAck(msg.device_id, () => deps.runtimes.restart(msg.device_id));
