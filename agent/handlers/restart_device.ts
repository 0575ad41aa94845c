/**
 * `restart_device`: restarts the runtime; the intent (running) is persisted first. Answers when the reconciler has done it.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { type CommandPort, lifecycleAck } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface RestartDeviceDeps {
  /** The command port. */
  commands: Pick<CommandPort, "restart">;
}

/** Handler. */
export const restartDevice: Handler<"restart_device", RestartDeviceDeps> = (deps, msg) =>
  lifecycleAck(msg.device_id, () => deps.commands.restart(msg.device_id));
