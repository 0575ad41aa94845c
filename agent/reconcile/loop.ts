/**
 * The reconciliation loop, two states: idle, and processing one planned batch at a time. A
 * trigger (start, netmon discovery/change, Docker events, the slow timer) while processing is
 * remembered and runs one more pass afterwards, never two at once. Drift is detected by comparing
 * a hash of desired + observed state with the last converged one, so a quiet box does no work.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { StepResult } from "./executor.ts";
import { isConverged, plan } from "./plan.ts";
import { failureProblem, type ProblemBoard } from "./problems.ts";
import type { DesiredRuntime, Observed, Step } from "./types.ts";

/** What the loop needs. */
export interface LoopDeps {
  /** Reads Docker and the interface cache. */
  observe(): Promise<Observed>;
  /** The desired state (registry + vNIC store), without runtimes busy with a cloud operation. */
  desired(): DesiredRuntime[];
  /** Names of runtimes a cloud operation holds right now: left alone this pass. */
  busy(): ReadonlySet<string>;
  /** Runs one step. */
  execute(step: Step): Promise<StepResult>;
  /** Where unfixable problems are shown. */
  problems: ProblemBoard;
  /** Logger. */
  log: Logger;
}

/** Plan-execute rounds per trigger: a rewire then a start settle in 2; 4 leaves room for a
 * recreate; more means something keeps failing, and the slow timer tries again later. */
const MAX_ROUNDS = 4;
/** Retry window of a failed step; see `Reconciler.#retry`. 2 s keeps a transient failure (the
 * daemon restarting, a network being created) cheap; 60 s bounds how long a fixed cause waits. */
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 60_000;
/** A pass that takes longer than this is abandoned (logged); 50 re-wires take ~3 s. */
export const PASS_TIMEOUT_MS = 120_000;

/** FNV-1a over a string: a cheap fingerprint of the state, not a security hash. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

function stateKey(desired: DesiredRuntime[], o: Observed): string {
  return JSON.stringify([
    desired,
    o.containers.map((c) => [c.name, c.running, Object.keys(c.networks).sort()]),
    o.networks.map((n) => [n.name, n.options.parent, n.subnets[0]?.subnet, n.containers.length]),
    o.parents.synced,
    [...new Set(desired.flatMap((d) => d.vnics.map((v) => v.parent_interface)))].map((p) => [
      p,
      o.parents.get(p),
    ]),
    [...o.crashLooping],
  ]);
}

/** The reconciler. */
export class Reconciler {
  #deps: LoopDeps;
  #state: "idle" | "processing" = "idle";
  #pending = false;
  #lastConverged = "";
  #running: Promise<void> = Promise.resolve();
  #passes = 0;

  /** Builds the loop. */
  constructor(deps: LoopDeps) {
    this.#deps = deps;
  }

  /** Number of passes run (for status and tests). */
  get passes(): number {
    return this.#passes;
  }

  #disabled = false;

  /** Stops planning for good (self-destruct: repairs must not race the removal). */
  disable(): void {
    this.#disabled = true;
  }

  /** Asks for a pass; coalesces with one already queued. Returns when that pass is done. */
  trigger(reason: string): Promise<void> {
    if (this.#disabled) return Promise.resolve();
    this.#deps.log.debug(`reconcile requested: ${reason}`);
    if (this.#state === "processing") {
      this.#pending = true;
      return this.#running.then(() => this.#running);
    }
    this.#running = this.#loop(reason);
    return this.#running;
  }

  /** A step that failed is not retried before its time: 2 s after the first failure, doubling
   * to 60 s; forgotten when the world changed (netmon, Docker back: see `invalidate`). Without this, a step that always fails (an image that cannot start) would loop
   * through the Docker events its own attempt causes, burning CPU. */
  #retry = new Map<
    string,
    { at: number; delay: number; kind: Step["kind"]; failures: StepResult["failures"] }
  >();

  #coolingDown(step: Step, now: number): boolean {
    const r = this.#retry.get(JSON.stringify(step));
    return r !== undefined && now < r.at;
  }

  #record(step: Step, failures: StepResult["failures"], now: number): void {
    const key = JSON.stringify(step);
    if (failures.length === 0) {
      this.#retry.delete(key);
      return;
    }
    const delay = Math.min(RETRY_MAX_MS, (this.#retry.get(key)?.delay ?? RETRY_MIN_MS / 2) * 2);
    this.#retry.set(key, { at: now + delay, delay, kind: step.kind, failures });
    // Let the timer come back for it even when nothing else happens meanwhile.
    const t = setTimeout(() => void this.trigger("retry"), delay);
    Deno.unrefTimer(t);
  }

  /** Resolves when no pass is running (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.#state === "processing") await this.#running;
  }

  /** Forgets the converged fingerprint, so the next trigger plans even if nothing seems changed. */
  invalidate(): void {
    this.#lastConverged = "";
    this.#retry.clear();
  }

  async #loop(reason: string): Promise<void> {
    this.#state = "processing";
    try {
      do {
        this.#pending = false;
        await this.#pass(reason);
        reason = "follow-up";
      } while (this.#pending);
    } finally {
      this.#state = "idle";
    }
  }

  async #pass(reason: string): Promise<void> {
    this.#passes++;
    const timeout = new Promise<"timeout">((r) => {
      const t = setTimeout(() => r("timeout"), PASS_TIMEOUT_MS);
      Deno.unrefTimer(t);
    });
    const work = this.#rounds(reason).then(() => "done" as const);
    const outcome = await Promise.race([work, timeout]).catch((err) => {
      this.#deps.log.error(`reconcile pass failed: ${err instanceof Error ? err.stack : err}`);
      return "done" as const;
    });
    if (outcome === "timeout") {
      this.#deps.log.error(`reconcile pass exceeded ${PASS_TIMEOUT_MS} ms; will retry`);
      this.#lastConverged = "";
    }
  }

  async #rounds(reason: string): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const busy = this.#deps.busy();
      const desired = this.#deps.desired().filter((d) => !busy.has(d.name));
      const observedAll = await this.#deps.observe();
      const observed = {
        ...observedAll,
        containers: observedAll.containers.filter((c) => !busy.has(c.name)),
        busy,
      };
      const key = fingerprint(stateKey(desired, observed));
      if (key === this.#lastConverged) return;
      const steps = plan(desired, observed);
      // What the planner cannot fix, and what Docker refused last time (until it works).
      // A failed step the plan no longer wants (its runtime deleted, the world changed) is
      // forgotten: it neither shows nor waits any more.
      const planned = new Set(steps.map((s) => JSON.stringify(s)));
      for (const k of this.#retry.keys()) if (!planned.has(k)) this.#retry.delete(k);
      const failing = [...this.#retry.values()].flatMap((r) =>
        r.failures.map((f) => ({
          runtime: f.runtime,
          vnic: null,
          problem: failureProblem(r.kind, f.error),
        }))
      );
      const fresh = this.#deps.problems.replace([
        ...steps.flatMap((s) => s.kind === "report" ? [s] : []),
        ...failing,
      ]);
      for (const line of fresh) this.#deps.log.warn(`reconcile: ${line}`);
      if (isConverged(steps)) {
        this.#lastConverged = key;
        return;
      }
      const now = Date.now();
      const work = steps.filter((s) => s.kind !== "report" && !this.#coolingDown(s, now));
      if (work.length === 0) return; // everything left is failing and waits for its retry time
      this.#deps.log.info(
        `reconcile (${reason}, round ${round + 1}): ${work.map((s) => s.kind).join(", ")}`,
      );
      for (const step of work) {
        const r = await this.#deps.execute(step);
        for (const f of r.failures) {
          this.#deps.log.error(`reconcile ${step.kind} failed for ${f.runtime ?? "-"}: ${f.error}`);
        }
        this.#record(step, r.failures, Date.now());
      }
    }
  }
}
