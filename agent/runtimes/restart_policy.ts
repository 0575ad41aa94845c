/**
 * The restart policy that matches the cloud's intent for a runtime.
 *
 * @module
 */
import type { DockerPort } from "../docker/port.ts";

/**
 * Docker's `always` policy starts a container again when the daemon restarts, even one that was
 * stopped by hand: a runtime the cloud stopped would run until the agent noticed. So a stopped
 * runtime gets policy `no`, a running one `always` (changed in place, the PLC is not touched).
 */
export async function applyRestartPolicy(
  docker: DockerPort,
  name: string,
  desired: "running" | "stopped",
): Promise<void> {
  await docker.setRestartPolicy?.(name, desired === "running" ? "always" : "no");
}
