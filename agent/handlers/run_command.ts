/**
 * `run_command`: an HTTPS request to a registered runtime's API (protocol.md §3), with its TLS
 * certificate pinned on first use and a local `agent unpin` honoured (agent/unpin.ts).
 *
 * @module
 */
import type { Handler } from "./types.ts";
import type { Logger } from "../log.ts";
import {
  DEFAULT_LIMITS,
  runCommand as run,
  type RunCommandLimits,
} from "../runtimes/run_command.ts";
import { takeUnpin } from "../unpin.ts";

/** Dependencies. */
export interface RunCommandHandlerDeps {
  /** Where a runtime's API is (internal IP, pinned fingerprint); null when not ours. */
  runtimes: { endpoint(device: string): { ip: string | null; pin?: string } | null };
  /** Pins a fingerprint on first use (a desired-state write). */
  pin(device: string, fingerprint: string): Promise<void>;
  /** Logger. */
  log: Logger;
  /** Overrides of the limits (e.g. an allow-list of extra ports). */
  limits?: Partial<RunCommandLimits>;
  /** State directory, where `agent unpin` leaves its requests; without it unpin is not read. */
  stateDir?: string;
}

/** Handler. */
export const runCommand: Handler<"run_command", RunCommandHandlerDeps> = (deps, msg) => {
  const stateDir = deps.stateDir;
  return run({
    lookup: (device) => deps.runtimes.endpoint(device),
    pin: (device, fingerprint) => deps.pin(device, fingerprint),
    ...(stateDir ? { takeUnpin: (device: string) => takeUnpin(stateDir, device) } : {}),
    limits: { ...DEFAULT_LIMITS, ...deps.limits },
    log: deps.log,
  }, msg);
};
