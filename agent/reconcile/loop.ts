/**
 * The reconciliation loop, two states: idle, and processing one pass at a time. A trigger
 * (a command, netmon discovery/change, Docker events, the slow timer) while processing is
 * remembered and runs one more pass afterwards, never two at once. A pass observes, plans,
 * executes, and again, up to a few rounds; it carries an `AbortSignal`: when it runs too long it
 * is cancelled, and the next pass starts only after it has really finished.
 *
 * Drift is detected by comparing a hash of desired + observed state with the last converged one,
 * so a quiet box does no work.
 *
 * @module
 */
import type { CallOptions } from "../docker/port.ts";
import type { Logger } from "../log.ts";
import type { StepOutcome, StepResult } from "./lanes.ts";
import { isConverged, plan } from "./plan.ts";
import { failureProblem, type ProblemBoard } from "./problems.ts";
import {
  type DesiredRuntime,
  laneOf,
  type Observed,
  type PlanContext,
  type Step,
} from "./types.ts";

const GLOBAL_LANE = JSON.stringify({ kind: "global" });

/** What the loop needs. */
export interface LoopDeps {
  /** Reads Docker and the interface cache (rejects on any failure: no partial picture). */
  observe(o: CallOptions): Promise<Observed>;
  /** Whether the desired state was loaded (the first half of trust). */
  loaded(): boolean;
  /** The desired state. */
  desired(): DesiredRuntime[];
  /** The planner's context but for trust and the engine's facts. */
  context(): Omit<PlanContext, "trusted" | "engine">;
  /** The engine's facts (asks the engine once). */
  engine(o: CallOptions): Promise<PlanContext["engine"]>;
  /** Runs a plan's work steps. */
  run(steps: Step[], signal: AbortSignal): Promise<StepResult[]>;
  /** Runs one step (a failed first create becomes its tombstone). */
  execute(step: Step, signal: AbortSignal): Promise<StepOutcome>;
  /** Where unfixable problems are shown. */
  problems: ProblemBoard;
  /** Logger. */
  log: Logger;
  /** Bound of a pass (default {@linkcode PASS_TIMEOUT_MS}; tests shorten it). */
  passTimeoutMs?: number;
}

/** Plan-execute rounds per pass: a create, a settle and a MAC check take 2; a failed create and
 * its removal 3; more means something keeps failing, and the retry timer comes back later. */
const MAX_ROUNDS = 5;
/** Retry window of a failed step; see `Reconciler.#retry`. 2 s keeps a transient failure (the
 * daemon restarting, a network being created) cheap; 60 s bounds how long a fixed cause waits. */
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 60_000;
/** A pass running longer than this is cancelled (every step is bounded on its own too; 50
 * re-wires take ~4 s, a stop up to its grace period). */
export const PASS_TIMEOUT_MS = 10 * 60_000;
/** When Docker cannot be observed (not answering yet at boot, restarting), the next try. */
const OBSERVE_RETRY_MS = 2_000;

/** FNV-1a over a string: a cheap fingerprint of the state, not a security hash. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

function stateKey(desired: DesiredRuntime[], o: Observed, ctx: PlanContext): string {
  return JSON.stringify([
    desired,
    o.containers.map((c) => [
      c.name,
      c.running,
      c.restartPolicy,
      Object.entries(c.networks).map(([n, e]) => [n, e.ipv4, e.mac]).sort(),
    ]),
    o.networks.map((n) => [
      n.name,
      n.options.parent,
      n.subnets[0]?.subnet,
      n.containers.map((c) => c.id).sort(),
    ]),
    o.parents.synced,
    [...new Set(desired.flatMap((d) => d.vnics.map((v) => v.parent_interface)))].map((p) => [
      p,
      o.parents.get(p),
    ]),
    [...o.crashLooping],
    ctx.trusted,
    [...ctx.restarts],
    ctx.selfDestruct,
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
  #observedOnce = false;
  #disabled = false;
  #failures = new Map<string, string>();

  /** Builds the loop. */
  constructor(deps: LoopDeps) {
    this.#deps = deps;
  }

  /** Number of passes run (for status and tests). */
  get passes(): number {
    return this.#passes;
  }

  /** Whether the agent trusts its picture (desired loaded, Docker observed once). */
  get trusted(): boolean {
    return this.#observedOnce && this.#deps.loaded();
  }

  /** The last failure of a runtime's steps (cleared when its steps work again). */
  failure(runtime: string): string | undefined {
    return this.#failures.get(runtime);
  }

  /** Stops planning for good (shutdown). */
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
   * to 60 s; forgotten when the world changed (netmon, Docker back: see `invalidate`). Without
   * this, a step that always fails (an image that cannot start) would loop through the Docker
   * events its own attempt causes, burning CPU. */
  #retry = new Map<
    string,
    { at: number; delay: number; kind: Step["kind"]; failures: StepResult["failures"] }
  >();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

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
    this.#wakeIn(delay);
  }

  /** One timer for every retry (no pile of timers): the earliest wins. */
  #wakeIn(ms: number): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    const at = Math.min(ms, ...[...this.#retry.values()].map((r) => r.at - Date.now()));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.trigger("retry");
    }, Math.max(0, at));
    Deno.unrefTimer(this.#retryTimer as unknown as number);
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

  /** Stops the retry timer (shutdown). */
  stop(): void {
    this.disable();
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
  }

  async #loop(reason: string): Promise<void> {
    this.#state = "processing";
    try {
      do {
        this.#pending = false;
        await this.#pass(reason);
        reason = "follow-up";
      } while (this.#pending && !this.#disabled);
    } finally {
      this.#state = "idle";
    }
  }

  async #pass(reason: string): Promise<void> {
    this.#passes++;
    const abort = new AbortController();
    const limit = this.#deps.passTimeoutMs ?? PASS_TIMEOUT_MS;
    const timer = setTimeout(() => abort.abort(), limit);
    try {
      await this.#rounds(reason, abort.signal);
    } catch (err) {
      this.#deps.log.error(`reconcile pass failed: ${err instanceof Error ? err.message : err}`);
      this.#lastConverged = "";
    } finally {
      clearTimeout(timer);
    }
    if (abort.signal.aborted) {
      this.#deps.log.error(`reconcile pass cancelled after ${limit} ms; will retry`);
      this.#lastConverged = "";
    }
  }

  async #rounds(reason: string, signal: AbortSignal): Promise<void> {
    const d = this.#deps;
    if (!d.loaded()) return; // the composition root retries the load and triggers again
    for (let round = 0; round < MAX_ROUNDS && !signal.aborted; round++) {
      let observed: Observed;
      try {
        observed = await d.observe({ signal });
      } catch (err) {
        // Docker not answering (boot order, daemon restart): keep everything as it is, try again.
        d.log.warn(`Cannot observe Docker, changing nothing: ${(err as Error).message}`);
        this.#wakeIn(OBSERVE_RETRY_MS);
        return;
      }
      this.#observedOnce = true;
      const desired = d.desired();
      const ctx: PlanContext = {
        ...d.context(),
        trusted: this.trusted,
        engine: await d.engine({ signal }),
      };
      const key = fingerprint(stateKey(desired, observed, ctx));
      if (key === this.#lastConverged) return;
      const steps = plan(desired, observed, ctx);
      // What the planner cannot fix, and what Docker refused last time (until it works).
      // A failed step the plan no longer wants (its runtime deleted, the world changed) is
      // forgotten: it neither shows nor waits any more.
      const planned = new Set(steps.map((s) => JSON.stringify(s)));
      for (const k of this.#retry.keys()) if (!planned.has(k)) this.#retry.delete(k);
      const names = new Set(desired.map((r) => r.name));
      for (const k of this.#failures.keys()) if (!names.has(k)) this.#failures.delete(k);
      const failing = [...this.#retry.values()].flatMap((r) =>
        r.failures.map((f) => ({
          runtime: f.runtime,
          vnic: null,
          problem: failureProblem(r.kind, f.error),
        }))
      );
      const fresh = d.problems.replace([
        ...steps.flatMap((s) => s.kind === "report" ? [s] : []),
        ...failing,
      ]);
      for (const line of fresh) d.log.warn(`reconcile: ${line}`);
      if (isConverged(steps)) {
        this.#lastConverged = key;
        return;
      }
      const now = Date.now();
      // A step waiting for its retry holds the rest of its lane too (they depend on it).
      const held = new Set<string>();
      const work = steps.filter((s) => {
        if (s.kind === "report") return false;
        const lane = JSON.stringify(laneOf(s));
        if (lane !== GLOBAL_LANE && held.has(lane)) return false;
        if (!this.#coolingDown(s, now)) return true;
        held.add(lane);
        return false;
      });
      if (work.length === 0) return; // everything left is failing and waits for its retry time
      d.log.info(
        `reconcile (${reason}, round ${round + 1}): ${work.map((s) => s.kind).join(", ")}`,
      );
      const results = await d.run(work, signal);
      // Read after the run: a create ends at its `settle`, so a step after it that fails (a DHCP
      // client that cannot start yet, retried on its own) is a failure of a runtime, not of its
      // create, and must not turn into the create's rollback.
      const creating = new Set(
        d.desired().filter((r) => r.phase === "creating").map((r) => r.name),
      );
      const ok = new Set<string>();
      for (const r of results) {
        for (const f of r.failures) {
          d.log.error(`reconcile ${r.step.kind} failed for ${f.runtime ?? "-"}: ${f.error}`);
          if (f.runtime) this.#failures.set(f.runtime, f.error);
          // A first create that failed becomes a tombstone: its removal is the rollback.
          if (f.runtime && creating.has(f.runtime) && r.step.kind !== "fail_create") {
            creating.delete(f.runtime);
            await d.execute(
              { kind: "fail_create", runtime: f.runtime, error: f.error },
              signal,
            );
          }
        }
        if (r.failures.length === 0 && "runtime" in r.step && r.step.runtime) {
          ok.add(r.step.runtime);
        }
        this.#record(r.step, r.failures, Date.now());
      }
      for (const rt of ok) {
        if (!results.some((r) => r.failures.some((f) => f.runtime === rt))) {
          this.#failures.delete(rt);
        }
      }
      // Nothing moved (every lane waits for a pull, or failed): the end of the wait asks for a
      // pass itself, and a failure waits for its retry; planning again now would only spin.
      if (!results.some((r) => !r.wait && r.failures.length === 0)) return;
    }
  }
}
