/**
 * `delete_device`: acks at once, deletes in the background; an unknown id ends as `not_found`.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { BusyError } from "../runtimes/locks.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";

/** Dependencies. */
export interface DeleteDeviceDeps {
  /** Runtime manager. */
  runtimes: RuntimeManager;
}

/** Handler. */
export const deleteDevice: Handler<"delete_device", DeleteDeviceDeps> = (deps, msg) => {
  const id = msg.device_id;
  try {
    deps.runtimes.delete(id);
  } catch (err) {
    if (err instanceof BusyError) return Promise.resolve({ status: "error", error: err.message });
    throw err;
  }
  return Promise.resolve({
    status: "deleting",
    device_id: id,
    message: `Container deletion started for ${id}`,
  });
};
