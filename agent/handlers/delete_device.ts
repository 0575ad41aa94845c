/**
 * `delete_device`: turns the runtime into a tombstone and acks at once; the reconciler removes it.
 * An id that is not one of this agent's runtimes changes nothing and ends as `not_found`.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { commandError, type CommandPort } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface DeleteDeviceDeps {
  /** The command port. */
  commands: Pick<CommandPort, "delete">;
}

/** Handler. */
export const deleteDevice: Handler<"delete_device", DeleteDeviceDeps> = async (deps, msg) => {
  const id = msg.device_id;
  try {
    await deps.commands.delete(id);
  } catch (err) {
    return commandError(err);
  }
  return {
    status: "deleting",
    device_id: id,
    message: `Container deletion started for ${id}`,
  };
};
