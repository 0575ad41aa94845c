/**
 * Wire contracts of edge-orchestrator: zod schemas and types of every message between the
 * cloud and the agent (topics, acks, heartbeat), of netmon's socket events, and of the state the
 * agent persists. Cloud-side TypeScript consumers import this package; services in other
 * languages use the JSON Schemas under `schema/`.
 *
 * @example Validate a cloud command and get the exact error ack on bad input
 * ```ts
 * import { parseMessage } from "@edge-orchestrator/contracts";
 * const r = parseMessage("create_new_runtime", {
 *   container_name: "plc1",
 *   vnic_configs: [{ name: "eth0", parent_interface: "ens37", network_mode: "dhcp" }],
 * });
 * console.assert(r.ok);
 * ```
 *
 * @module
 */
export * from "./common.ts";
export * from "./ipv4.ts";
export * from "./vnic.ts";
export * from "./period.ts";
export * from "./heartbeat.ts";
export * from "./netmon.ts";
export * from "./topics.ts";
export * from "./parse.ts";
export * from "./state.ts";
export * from "./texts.ts";
