/**
 * The heartbeat event (protocol.md §5).
 *
 * @module
 */
import { z } from "zod";

/** Payload of the `heartbeat` event, emitted without ack every 5 s while connected. */
export interface Heartbeat {
  /** CN of the device certificate. */
  agent_id: string;
  /** Host CPU in % (0-100), rounded to 0.1. */
  cpu_usage: number;
  /** Memory used in GB (bytes / 1024^3, as the original computes it), rounded to 0.1. */
  memory_usage: number;
  /** Memory total in GB (bytes / 1024^3), rounded to 0.1. */
  memory_total: number;
  /** Disk used in GB (bytes / 1024^3) over physical filesystems, each device once. */
  disk_usage: number;
  /** Disk total in GB (bytes / 1024^3). */
  disk_total: number;
  /** Seconds since the agent started. */
  uptime: number;
  /** Always `"online"`. */
  status: "online";
  /** ISO 8601 date-time of the sample. */
  timestamp: string;
  /** Extra: agent version. */
  agent_version?: string;
  /** Extra: number of runtimes the agent manages. */
  runtimes?: number;
}

const gb = z.number().min(0);

/**
 * Schema of {@linkcode Heartbeat}; closed (an unknown field is refused, so a drift fails the tests).
 *
 * @example
 * ```ts
 * import { Heartbeat } from "@edge-orchestrator/contracts";
 * Heartbeat.parse({
 *   agent_id: "07048933", cpu_usage: 3.2, memory_usage: 1.1, memory_total: 15.6,
 *   disk_usage: 20.5, disk_total: 250, uptime: 61, status: "online",
 *   timestamp: "2026-11-25T12:00:00.000Z",
 * });
 * ```
 */
export const Heartbeat: z.ZodType<Heartbeat> = z.strictObject({
  agent_id: z.string().min(1),
  cpu_usage: z.number().min(0).max(100),
  memory_usage: gb,
  memory_total: gb,
  disk_usage: gb,
  disk_total: gb,
  uptime: z.number().min(0),
  status: z.literal("online"),
  timestamp: z.iso.datetime({ offset: true }),
  agent_version: z.string().optional(),
  runtimes: z.number().int().min(0).optional(),
});
