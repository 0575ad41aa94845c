/**
 * `create_new_runtime`: records the runtime in the desired state and acks at once; the reconciler
 * creates it (protocol.md §2-§3). Progress and errors show in `get_device_status`.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { commandError, type CommandPort } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface CreateNewRuntimeDeps {
  /** The command port. */
  commands: Pick<CommandPort, "create">;
}

/** Handler. */
export const createNewRuntime: Handler<"create_new_runtime", CreateNewRuntimeDeps> = async (
  deps,
  msg,
) => {
  const name = msg.container_name;
  try {
    await deps.commands.create(msg);
  } catch (err) {
    return commandError(err);
  }
  return {
    status: "creating",
    container_id: name,
    message: `Container creation started for ${name}`,
  };
};
