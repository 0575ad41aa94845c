/**
 * The handler table: every topic of the contracts' registry to one bound handler. Topics whose
 * real handler is not wired yet answer an error ack `"<topic> is not available: ..."`, never a
 * fake success. Wiring a handler is one line in the composition root:
 *
 * ```ts ignore
 * buildHandlerTable(core, { stop_device: (m) => stopDevice(dockerDeps, m) });
 * ```
 *
 * @module
 */
import { TOPIC_NAMES, type TopicName } from "../../contracts/mod.ts";
import {
  type ConsumptionOrchestratorDeps,
  getConsumptionOrchestrator,
} from "./get_consumption_orchestrator.ts";
import type { AckBody, BoundHandler, HandlerTable } from "./types.ts";

/** Dependencies of the handlers this module implements itself. */
export type CoreDeps = ConsumptionOrchestratorDeps;

/** Reason given by placeholder handlers. */
export const NOT_WIRED = "Docker runtime management is not wired into this agent build yet";

/** A handler that answers the error ack `"<topic> is not available: <reason>"`. */
export function notAvailable<K extends TopicName>(topic: K, reason = NOT_WIRED): BoundHandler<K> {
  return (): Promise<AckBody> =>
    Promise.resolve({ status: "error", error: `${topic} is not available: ${reason}` });
}

/** Builds the complete table: our handlers, `overrides` on top, `notAvailable` for the rest. */
export function buildHandlerTable(
  core: CoreDeps,
  overrides: Partial<HandlerTable> = {},
): HandlerTable {
  const own: Partial<HandlerTable> = {
    get_consumption_orchestrator: (m) => getConsumptionOrchestrator(core, m),
  };
  const table: Partial<Record<TopicName, unknown>> = {};
  for (const topic of TOPIC_NAMES) {
    table[topic] = overrides[topic] ?? own[topic] ?? notAvailable(topic);
  }
  return table as HandlerTable;
}
