/**
 * `stop_device`: stops the runtime (idempotent); the intent is persisted first, so it stays
 * stopped across agent and daemon restarts. Answers when the reconciler has done it.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { type CommandPort, lifecycleAck } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface StopDeviceDeps {
  /** The command port. */
  commands: Pick<CommandPort, "stop">;
}

/** Handler. */
export const stopDevice: Handler<"stop_device", StopDeviceDeps> = (deps, msg) =>
  lifecycleAck(msg.device_id, () => deps.commands.stop(msg.device_id));
