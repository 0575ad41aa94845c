/**
 * `run_command`: an HTTPS request to a registered runtime's API (protocol.md §3), with its TLS
 * certificate pinned on first use.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import type { RuntimeManager } from "../runtimes/manager.ts";
import {
  DEFAULT_LIMITS,
  runCommand as run,
  type RunCommandLimits,
} from "../runtimes/run_command.ts";

/** Dependencies. */
export interface RunCommandHandlerDeps {
  /** Runtime manager (registry: internal IP and pinned fingerprint). */
  runtimes: RuntimeManager;
  /** Overrides of the limits (e.g. an allow-list of extra ports). */
  limits?: Partial<RunCommandLimits>;
}

/** Handler. */
export const runCommand: Handler<"run_command", RunCommandHandlerDeps> = (deps, msg) => {
  const registry = deps.runtimes.core.registry;
  return run({
    lookup: (device) => {
      const e = registry.get(device);
      if (!e) return null;
      return e.tls_fingerprint
        ? { ip: e.internal_ip, pin: e.tls_fingerprint }
        : { ip: e.internal_ip };
    },
    pin: (device, fingerprint) => registry.update(device, { tls_fingerprint: fingerprint }),
    limits: { ...DEFAULT_LIMITS, ...deps.limits },
    log: deps.runtimes.core.log,
  }, msg);
};
