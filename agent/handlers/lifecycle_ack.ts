/**
 * Shared by the command handlers: the command port they get, and the shapes of their acks
 * (`{status:"success", device_id, success:true, container_status}` or an error ack).
 *
 * @module
 */
import type { CreateNewRuntime } from "../../contracts/mod.ts";
import type { ContainerInfo } from "../docker/port.ts";
import type { AckBody } from "./types.ts";

/** The commands handlers may give (agent/runtimes/commands.ts implements them). */
export interface CommandPort {
  /** Records a create (throws the busy or starting-up error). */
  create(msg: CreateNewRuntime): Promise<void>;
  /** Records a delete. */
  delete(name: string): Promise<void>;
  /** Starts a runtime and waits for it. */
  start(name: string): Promise<ContainerInfo>;
  /** Stops a runtime and waits for it. */
  stop(name: string): Promise<ContainerInfo>;
  /** Restarts a runtime and waits for it. */
  restart(name: string): Promise<ContainerInfo>;
  /** Orders the self-destruct; false when one already runs. */
  selfDestruct(): Promise<boolean>;
}

/** The error ack of a refused command. */
export function commandError(err: unknown): AckBody {
  return { status: "error", error: err instanceof Error ? err.message : String(err) };
}

/** Runs a lifecycle call and shapes its ack. */
export async function lifecycleAck(
  device: string,
  call: () => Promise<ContainerInfo>,
): Promise<AckBody> {
  try {
    const info = await call();
    return { status: "success", device_id: device, success: true, container_status: info.status };
  } catch (err) {
    return commandError(err);
  }
}
