/**
 * Persisted state (protocol.md §8): the `runtime_vnics.json` file.
 *
 * @module
 */
import { z } from "zod";
import { VnicConfig } from "./vnic.ts";

/** A stored vNIC: canonical configuration plus what the agent learned. */
export interface StoredVnic extends VnicConfig {
  /** The MAC actually used (given, or generated once and then kept forever). */
  mac_address: string;
  /** The MACVLAN network the vNIC is attached to (or was last attached to). */
  docker_network_name?: string;
  /** DHCP vNICs: the leased address while a lease holds (reference §8). */
  dhcp_ip?: string;
  /** DHCP vNICs: the lease's router. */
  dhcp_gateway?: string;
  /** DHCP vNICs: the lease's DNS servers, space-separated (as the original stores them). */
  dhcp_dns?: string;
}

/** Content of `runtime_vnics.json`: container name to its vNICs. */
export type RuntimeVnicsFile = Record<string, StoredVnic[]>;

const stored = z.intersection(
  VnicConfig,
  z.object({
    mac_address: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/),
    docker_network_name: z.string().optional(),
    dhcp_ip: z.string().optional(),
    dhcp_gateway: z.string().optional(),
    dhcp_dns: z.string().optional(),
  }),
);

/**
 * Schema of {@linkcode StoredVnic}.
 *
 * @example
 * ```ts
 * import { StoredVnic } from "@edge-orchestrator/contracts";
 * const v = StoredVnic.parse({
 *   name: "eth0", parent_interface: "ens37", network_mode: "dhcp",
 *   mac_address: "02:00:00:00:00:01", docker_network_name: "macvlan_ens37_192.0.2.0_24",
 * });
 * console.assert(v.docker_network_name?.startsWith("macvlan_"));
 * ```
 */
export const StoredVnic: z.ZodType<StoredVnic, unknown> = stored.transform((v) => v as StoredVnic);

/**
 * Schema of {@linkcode RuntimeVnicsFile}.
 *
 * @example
 * ```ts
 * import { RuntimeVnicsFile } from "@edge-orchestrator/contracts";
 * console.assert(RuntimeVnicsFile.safeParse({}).success);
 * console.assert(!RuntimeVnicsFile.safeParse({ plc1: [{ name: "eth0" }] }).success);
 * ```
 */
export const RuntimeVnicsFile: z.ZodType<RuntimeVnicsFile, unknown> = z.record(
  z.string(),
  z.array(StoredVnic),
);
