/**
 * Names and ownership labels of the Docker objects the agent creates (interfaces.md, protocol.md
 * §7). Every object we create carries `io.edge-orchestrator.managed=1` plus its role, so the agent
 * lists and prunes only its own objects and can rebuild its registry from Docker alone.
 *
 * @module
 */
import type { StoredVnic } from "../../contracts/mod.ts";

/** The one label key prefix of the project. */
export const LABEL_PREFIX = "io.edge-orchestrator";

/** Label keys. */
export const LABELS = {
  managed: `${LABEL_PREFIX}.managed`,
  role: `${LABEL_PREFIX}.role`,
  runtime: `${LABEL_PREFIX}.runtime`,
  vnics: `${LABEL_PREFIX}.vnics`,
  version: `${LABEL_PREFIX}.runtime-version`,
  parent: `${LABEL_PREFIX}.parent`,
  subnet: `${LABEL_PREFIX}.subnet`,
  /** The agent (certificate CN) that owns a runtime: one engine may serve several agents (a
   * dev box, the test suite), and an agent adopts, repairs and prunes only its own objects. */
  agent: `${LABEL_PREFIX}.agent`,
} as const;

/** The extra labels that scope an agent's objects to it. */
export function agentScope(agentId: string): Record<string, string> {
  return { [LABELS.agent]: agentId };
}

/** Whether `labels` carry every label of `scope`. */
export function inScope(labels: Record<string, string>, scope: Record<string, string>): boolean {
  return Object.entries(scope).every(([k, v]) => labels[k] === v);
}

/** What an object is to us. `netmon` and `agent` are set by the installer on its containers. */
export type Role = "runtime" | "internal" | "macvlan" | "netmon" | "agent";

/** Selector of every object we manage with a given role. */
export function roleSelector(role: Role): Record<string, string> {
  return { [LABELS.managed]: "1", [LABELS.role]: role };
}

/** Labels of a runtime container; the vNICs as JSON let the registry be rebuilt from Docker. */
export function runtimeLabels(
  runtime: string,
  version: string,
  vnics: StoredVnic[],
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...extra,
    ...roleSelector("runtime"),
    [LABELS.runtime]: runtime,
    [LABELS.version]: version,
    [LABELS.vnics]: JSON.stringify(vnics),
  };
}

/** Whether an object's labels say we created it. */
export function isManaged(labels: Record<string, string> | undefined): boolean {
  return labels?.[LABELS.managed] === "1";
}
