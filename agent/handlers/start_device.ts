/**
 * `start_device`: starts the runtime (idempotent); the intent is persisted first. Answers when the reconciler has done it.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { type CommandPort, lifecycleAck } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface StartDeviceDeps {
  /** The command port. */
  commands: Pick<CommandPort, "start">;
}

/** Handler. */
export const startDevice: Handler<"start_device", StartDeviceDeps> = (deps, msg) =>
  lifecycleAck(msg.device_id, () => deps.commands.start(msg.device_id));
