/**
 * `delete_orchestrator`: acks `accepted`, then removes every runtime, network, the netmon
 * container and the agent itself; progress through `get_device_status("__orchestrator__")`.
 *
 * @module
 */
import { ORCHESTRATOR_DEVICE_ID } from "../../contracts/mod.ts";
import type { Handler } from "./types.ts";
import { type SelfDestructDeps, startSelfDestruct } from "../runtimes/self_destruct.ts";

/** Dependencies. */
export type DeleteOrchestratorDeps = SelfDestructDeps;

/** Handler. */
export const deleteOrchestrator: Handler<"delete_orchestrator", DeleteOrchestratorDeps> = (
  deps,
) => {
  const started = startSelfDestruct(deps);
  return Promise.resolve({
    status: "accepted",
    message: started ? "Orchestrator removal started" : "Orchestrator removal already in progress",
    poll_device_id: ORCHESTRATOR_DEVICE_ID,
  });
};
