/**
 * Status of long operations, for `get_device_status` while they run (protocol.md §3): kind,
 * step, times, message, and the precise error when one failed. An error stays until the device is
 * healthy again or the next operation begins.
 *
 * @module
 */
import { statusMessages } from "../../contracts/mod.ts";

/** Steps reported in `step`. */
export type OperationStep =
  | "validating_config"
  | "pulling_image"
  | "creating_networks"
  | "creating_container"
  | "starting_container"
  | "stopping_container"
  | "removing_networks"
  | "deleting_runtimes"
  | "cleaning_networks"
  | "deleting_netmon"
  | "removing_self";

/** One operation's state, in the ack shape of `get_device_status`. */
export interface OperationState {
  /** `creating` / `deleting` while it runs, `error` after a failure. */
  status: "creating" | "deleting" | "error";
  /** The device. */
  device_id: string;
  /** `create` or `delete` (the self-destruct is a `delete` of `__orchestrator__`, as the
   * original reports it). */
  operation: "create" | "delete";
  /** Current (or failing) step. */
  step: OperationStep;
  /** ISO time the operation began. */
  started_at: string;
  /** ISO time of the last change. */
  updated_at: string;
  /** Human line. */
  message: string;
  /** Why it failed. */
  error?: string;
  /** Progress of the step, 0-100, when known (image pull). */
  progress?: number;
}

/** Tracker of every device's current or last failed operation. */
export class Operations {
  #ops = new Map<string, OperationState>();
  #now: () => Date;

  /** A tracker with an injected clock. */
  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Starts tracking an operation (replacing any earlier error). */
  begin(
    device: string,
    operation: OperationState["operation"],
    step: OperationStep,
    message: string,
  ): void {
    const t = this.#now().toISOString();
    const status = operation === "create" ? "creating" : "deleting";
    this.#ops.set(device, {
      status,
      device_id: device,
      operation,
      step,
      started_at: t,
      updated_at: t,
      message,
    });
  }

  /** Moves to a step (and optional progress). */
  step(device: string, step: OperationStep, message?: string, progress?: number): void {
    const op = this.#ops.get(device);
    if (!op || op.status === "error") return;
    const next: OperationState = { ...op, step, updated_at: this.#now().toISOString() };
    // `message` stays the original's ("Container <id> is being created"); the detail is in
    // `step` and `progress` (issue 13: wire-exact texts).
    void message;
    if (progress === undefined) delete next.progress;
    else next.progress = progress;
    this.#ops.set(device, next);
  }

  /** Marks the operation failed; the state stays until cleared. */
  fail(device: string, error: string): void {
    const op = this.#ops.get(device);
    if (!op) return;
    this.#ops.set(device, {
      ...op,
      status: "error",
      error,
      message: statusMessages.failed(error),
      updated_at: this.#now().toISOString(),
    });
  }

  /** Stops tracking (success, or an error that cleared). */
  clear(device: string): void {
    this.#ops.delete(device);
  }

  /** The tracked state. */
  get(device: string): OperationState | undefined {
    return this.#ops.get(device);
  }

  /** Devices whose operation is still running (not failed). */
  active(): string[] {
    return [...this.#ops.values()].filter((o) => o.status !== "error").map((o) => o.device_id);
  }
}
