/**
 * `delete_orchestrator`: acks `accepted`, then every runtime, network, the netmon container and
 * the agent itself are removed by the reconciler; progress through
 * `get_device_status("__orchestrator__")`.
 *
 * @module
 */
import { ackMessages, ORCHESTRATOR_DEVICE_ID } from "../../contracts/mod.ts";
import type { Handler } from "./types.ts";
import { commandError, type CommandPort } from "./lifecycle_ack.ts";

/** Dependencies. */
export interface DeleteOrchestratorDeps {
  /** The command port. */
  commands: Pick<CommandPort, "selfDestruct">;
}

/** Handler. */
export const deleteOrchestrator: Handler<"delete_orchestrator", DeleteOrchestratorDeps> = async (
  deps,
) => {
  let started: boolean;
  try {
    started = await deps.commands.selfDestruct();
  } catch (err) {
    return commandError(err);
  }
  if (!started) return { status: "error", error: ackMessages.selfDestructBusy };
  return {
    status: "accepted",
    message: ackMessages.selfDestructStarted,
    poll_device_id: ORCHESTRATOR_DEVICE_ID,
  };
};
