/**
 * The top-level guard: nothing thrown or rejected anywhere ends the process silently.
 *
 * - An unhandled promise rejection is logged with its stack and the process goes on: every
 *   known failure path answers through an ack, so a rejection nobody awaited is a bug in a
 *   background task (a timer, a listener), not a broken process. Up to {@linkcode REJECTION_BUDGET}
 *   of them within {@linkcode BUDGET_WINDOW_MS} are tolerated; beyond that something loops on a
 *   failure and a clean restart is safer than limping on.
 * - An uncaught exception (thrown from a timer or event callback) leaves state half-updated: it
 *   is logged with context and turned into a clean, logged restart: the caller's `restart`
 *   (graceful shutdown) runs, and the process exits with {@linkcode RESTART_EXIT_CODE} so the
 *   container's restart policy (`unless-stopped`/`always`) brings it back.
 *
 * Pure of Deno globals except in {@linkcode installGuard}, so the policy is unit-tested with a
 * fake event target.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** Exit code of a guarded restart: not 0 (a restart policy `on-failure` must restart too). */
export const RESTART_EXIT_CODE = 70; // EX_SOFTWARE of sysexits.h: an internal software error
/** Rejections tolerated per window before a restart. 20: far above any real burst of bugs. */
export const REJECTION_BUDGET = 20;
/** Window of the rejection budget, ms. */
export const BUDGET_WINDOW_MS = 60_000;
/** Time the graceful shutdown gets before the exit is forced, ms (under Docker's 10 s grace). */
export const RESTART_GRACE_MS = 8_000;

/** Describes a thrown value in one line plus its stack (for the log). Pure. */
export function describeThrown(value: unknown): { message: string; stack?: string } {
  if (value instanceof Error) {
    return {
      message: `${value.name}: ${value.message}`,
      ...(value.stack ? { stack: value.stack } : {}),
    };
  }
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return { message: `non-Error value thrown: ${text.slice(0, 500)}` };
}

/** What the guard decides for one event. */
export type GuardDecision = "continue" | "restart";

/** The guard's policy, without any global. */
export class GuardPolicy {
  #rejections: number[] = [];
  constructor(private readonly now: () => number = Date.now) {}

  /** An unhandled rejection: continue unless the budget is spent. */
  rejection(): GuardDecision {
    const t = this.now();
    this.#rejections = this.#rejections.filter((at) => t - at < BUDGET_WINDOW_MS);
    this.#rejections.push(t);
    return this.#rejections.length > REJECTION_BUDGET ? "restart" : "continue";
  }

  /** An uncaught exception: always a restart. */
  exception(): GuardDecision {
    return "restart";
  }
}

/** What {@linkcode installGuard} needs. */
export interface GuardOptions {
  /** Where the events are logged. */
  log: Logger;
  /** Graceful shutdown before the restart (flushes logs, drains handlers); may be absent. */
  restart?: () => Promise<void>;
  /** Exit (Deno.exit by default). */
  exit?: (code: number) => void;
  /** Event target (globalThis by default). */
  target?: EventTarget;
}

/**
 * Installs the guard on `globalThis` (or `opts.target`). Returns a function that removes it.
 * Call once, as early as possible, with the logger.
 */
export function installGuard(opts: GuardOptions): () => void {
  const target = opts.target ?? globalThis;
  const exit = opts.exit ?? ((code: number) => Deno.exit(code));
  const policy = new GuardPolicy();
  let restarting = false;

  const restart = (why: string) => {
    if (restarting) return;
    restarting = true;
    opts.log.error(`Restarting cleanly after ${why} (exit ${RESTART_EXIT_CODE})`);
    const forced = setTimeout(() => exit(RESTART_EXIT_CODE), RESTART_GRACE_MS);
    void (async () => {
      try {
        await opts.restart?.();
      } catch (err) {
        opts.log.error(`Shutdown before restart failed: ${describeThrown(err).message}`);
      }
      clearTimeout(forced);
      exit(RESTART_EXIT_CODE);
    })();
  };

  const onRejection = (e: Event) => {
    e.preventDefault(); // handled here: Deno would otherwise print it and exit 1
    const { message, stack } = describeThrown((e as PromiseRejectionEvent).reason);
    opts.log.error(`Unhandled promise rejection: ${message}`, stack ? { stack } : undefined);
    if (policy.rejection() === "restart") {
      restart(`more than ${REJECTION_BUDGET} unhandled rejections within 60 s`);
    }
  };
  const onError = (e: Event) => {
    e.preventDefault();
    const err = (e as ErrorEvent).error ?? (e as ErrorEvent).message;
    const { message, stack } = describeThrown(err);
    opts.log.error(`Uncaught exception: ${message}`, stack ? { stack } : undefined);
    if (policy.exception() === "restart") restart("an uncaught exception");
  };
  target.addEventListener("unhandledrejection", onRejection);
  target.addEventListener("error", onError);
  return () => {
    target.removeEventListener("unhandledrejection", onRejection);
    target.removeEventListener("error", onError);
  };
}
