/**
 * `create_new_runtime`: acks at once, creates in the background (protocol.md §2-§3).
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { BusyError } from "../runtimes/locks.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";

/** Dependencies. */
export interface CreateNewRuntimeDeps {
  /** Runtime manager. */
  runtimes: RuntimeManager;
}

/** Handler. */
export const createNewRuntime: Handler<"create_new_runtime", CreateNewRuntimeDeps> = (
  deps,
  msg,
) => {
  const name = msg.container_name;
  try {
    deps.runtimes.create(msg);
  } catch (err) {
    if (err instanceof BusyError) return Promise.resolve({ status: "error", error: err.message });
    throw err;
  }
  return Promise.resolve({
    status: "creating",
    container_id: name,
    message: `Container creation started for ${name}`,
  });
};
