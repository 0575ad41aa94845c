/**
 * Shared body of `start_device`, `stop_device` and `restart_device`: run the manager call, answer
 * `{status:"success", device_id, success:true, container_status}` or an error ack.
 *
 * @module
 */
import type { ContainerInfo } from "../docker/port.ts";
import type { AckBody } from "./types.ts";

/** Runs a lifecycle call and shapes its ack. */
export async function lifecycleAck(
  device: string,
  call: () => Promise<ContainerInfo>,
): Promise<AckBody> {
  try {
    const info = await call();
    return { status: "success", device_id: device, success: true, container_status: info.status };
  } catch (err) {
    return { status: "error", error: err instanceof Error ? err.message : String(err) };
  }
}
