/**
 * What the runtime operations share: injected ports and config, the two state stores, the
 * operation tracker and the locks. Built once by `RuntimeManager`.
 *
 * @module
 */
import type { DockerPort } from "../docker/port.ts";
import type { Logger } from "../log.ts";
import type { InterfaceView } from "./interface_view.ts";
import type { KeyedMutex, RuntimeLocks } from "./locks.ts";
import type { RandomBytes } from "./mac.ts";
import type { Operations } from "./operations.ts";
import type { Registry } from "./registry.ts";
import type { VnicStore } from "./vnic_store.ts";

/** Default image of new runtimes (interfaces.md `--runtime-image`). */
export const DEFAULT_RUNTIME_IMAGE = "ghcr.io/autonomy-logic/openplc-runtime:latest";

/** Where consumption samples go (the session work's buffers, agent/metrics/consumption.ts). */
export interface ConsumptionSink {
  /** Records one sample of a runtime. */
  record(key: string, sample: { timestamp: number; cpu: number; memory: number }): void;
  /** Drops a deleted runtime's buffers. */
  forget(key: string): void;
}

/** Manager configuration (from flags, via the composition root). */
export interface ManagerConfig {
  /** `--runtime-image`: repository and default tag; `runtime_version` replaces the tag. */
  runtimeImage: string;
  /** Labels added to every object (tests: `io.edge-orchestrator.test=1`). */
  extraLabels: Record<string, string>;
  /** Seconds Docker waits for a graceful stop before killing. */
  stopTimeoutS: number;
  /** The agent's own container id when it runs in one (it joins every `<name>_internal`). */
  selfContainer: string | null;
}

/** Shared state of the runtime operations. */
export interface Core {
  /** Docker. */
  docker: DockerPort;
  /** Logger. */
  log: Logger;
  /** Host interfaces. */
  view: InterfaceView;
  /** Config. */
  config: ManagerConfig;
  /** runtime_vnics.json. */
  vnics: VnicStore;
  /** runtimes.json. */
  registry: Registry;
  /** Operation status. */
  ops: Operations;
  /** One operation per runtime. */
  locks: RuntimeLocks;
  /** Serialises get-or-create / remove of MACVLAN networks per parent interface. */
  parents: KeyedMutex;
  /** MACVLAN network name to runtimes being created on it (not yet attached). */
  pending: Map<string, Set<string>>;
  /** Consumption buffers. */
  sink: ConsumptionSink;
  /** Clock. */
  now: () => Date;
  /** Randomness for MACs. */
  random: RandomBytes;
  /** Cached engine API version. */
  apiVersion?: string;
  /** Set once the engine refused our ulimits (no CAP_SYS_RESOURCE): later creates omit them. */
  ulimitsRefused?: boolean;
  /** What could not be honoured per runtime (shown in `get_device_status` as `warnings`). */
  warnings: Map<string, string[]>;
}

/** `<repository>:<runtime_version>` from the configured image reference. */
export function imageFor(configured: string, version: string): string {
  const slash = configured.lastIndexOf("/");
  const colon = configured.lastIndexOf(":");
  const repo = colon > slash ? configured.slice(0, colon) : configured;
  return `${repo}:${version}`;
}

/** One line of an unknown error. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
