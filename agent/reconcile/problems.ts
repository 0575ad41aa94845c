/**
 * What reconciliation could not fix, per runtime: shown in `get_device_status` (`network_problems`)
 * and logged once when it appears. Replaced as a whole after every pass, so a healed problem
 * disappears by itself.
 *
 * @module
 */
import { staleParent, staleParentAdvice } from "../docker/stale_parent.ts";
import type { Problem, Step } from "./types.ts";

/** A repair error longer than this is cut in status replies (Docker's messages are one line,
 * but a stack-like text must not flood the cloud). */
const MAX_ERROR_CHARS = 300;

/** The problem a failed repair step stands for. Docker's stale macvlan record gets its own code
 * (see agent/docker/stale_parent.ts): no retry heals it, the operator must act. */
export function failureProblem(step: Step["kind"], error: string): Problem {
  const stale = staleParent(error);
  if (stale) return { code: "docker_stale_parent", ...stale };
  return { code: "step_failed", step, error: error.slice(0, MAX_ERROR_CHARS) };
}

/** One problem of one runtime. */
export interface RuntimeProblem {
  /** vNIC concerned, or null for the runtime as a whole. */
  vnic: string | null;
  /** The problem. */
  problem: Problem;
  /** One line for humans. */
  message: string;
}

/** Human line for a problem. */
export function describeProblem(p: Problem): string {
  switch (p.code) {
    case "parent_unavailable":
      return `parent interface ${p.parent} is ${p.state}: vNIC detached until it comes back`;
    case "parent_without_ipv4":
      return `parent interface ${p.parent} has no IPv4 address: vNIC detached`;
    case "ip_outside_subnet":
      return `static address ${p.ip} is outside the parent's new subnet ${p.subnet}: vNIC detached, no address invented`;
    case "crash_loop":
      return "runtime restarted too often: left stopped until the cloud starts it again";
    case "adopted":
      return `runtime ${p.name} carries our labels but was in no desired state: adopted (kept ` +
        `running as it is; only a delete removes it)`;
    case "state_unknown":
      return "the agent has not verified its state yet: nothing is changed until it has";
    case "step_failed":
      return `repair step ${p.step} failed, retrying with a growing delay: ${p.error}`;
    case "docker_stale_parent":
      return staleParentAdvice(p.parent, p.holder);
  }
}

/** The board of current problems. */
export class ProblemBoard {
  #byRuntime = new Map<string, RuntimeProblem[]>();
  #global: RuntimeProblem[] = [];

  /** Problems of one runtime (empty when healthy). */
  get(runtime: string): RuntimeProblem[] {
    return this.#byRuntime.get(runtime) ?? [];
  }

  /** Problems not tied to a runtime (orphans). */
  global(): RuntimeProblem[] {
    return this.#global;
  }

  /** Replaces the board; returns the lines that are new since the last pass (to log once). */
  replace(
    entries: { runtime: string | null; vnic: string | null; problem: Problem }[],
  ): string[] {
    const before = new Set(
      [...this.#byRuntime.entries()].flatMap(([rt, ps]) =>
        ps.map((p) => `${rt}/${p.vnic}: ${p.message}`)
      )
        .concat(this.#global.map((p) => `-: ${p.message}`)),
    );
    this.#byRuntime = new Map();
    this.#global = [];
    const fresh: string[] = [];
    for (const e of entries) {
      const item = { vnic: e.vnic, problem: e.problem, message: describeProblem(e.problem) };
      if (e.runtime === null) this.#global.push(item);
      else this.#byRuntime.set(e.runtime, [...this.get(e.runtime), item]);
      const key = e.runtime === null
        ? `-: ${item.message}`
        : `${e.runtime}/${e.vnic}: ${item.message}`;
      if (!before.has(key)) fresh.push(key);
    }
    return fresh;
  }
}
