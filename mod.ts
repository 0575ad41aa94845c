/**
 * edge-orchestrator: the root module re-exports only the wire contracts, so importing it never
 * loads dockerode, Socket.IO or FFI. The programs live in `agent/main.ts` and `netmon/main.ts`.
 *
 * @example
 * ```ts
 * import { TOPIC_NAMES } from "./mod.ts";
 * console.assert(TOPIC_NAMES.length > 0);
 * ```
 *
 * @module
 */
export * from "./contracts/mod.ts";
