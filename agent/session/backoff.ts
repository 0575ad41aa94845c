/**
 * Reconnection policy, pure: clock and random source are injected, so a fleet simulator can
 * import it alone and unit tests need no timers.
 *
 * - Never accepted yet (the device may not be linked to an account): fixed 5 s retry, as the
 *   current agent does, so a freshly linked device comes online within seconds.
 * - After the first accepted connection: an exponential ladder with a random phase, capped at
 *   30 s. When trouble begins the agent draws a phase p, uniform in [0, 1), and tries at the
 *   rungs base x (2^(k + p) - 1) after the trouble began (k = 0, 1, 2 ...): the first try within
 *   1 s, then each gap about twice the last, as in the current agent's 1 s x 2^n. Once a gap
 *   would pass 30 s the rungs are 30 s apart, at 30 s x (n + p). Each retry goes to the first
 *   rung after "now", so a slow failed attempt does not shift the schedule.
 * - Why a phase and not a fresh random delay per attempt ("full jitter", the first design): a
 *   fleet that lost the cloud at one instant needs its reconnections spread evenly when the
 *   cloud comes back. With a per-attempt uniform delay the pending attempts pile up right after
 *   the restart (a triangle at best; with a growing window peak/mean ~3.1 in theory, 2.4-3.0
 *   measured with scripts/fleet_sim.ts and the control plane in its own process). With one
 *   uniform phase per agent, the next attempts of the fleet at any moment T are log-uniform
 *   over [T, 2T + 1 s]: peak/mean (2 - 1) / ln 2 = 1.44 in theory, 1.2-1.7 simulated, and every
 *   agent is back within T + 1 s instead of 2T. Each agent's timing is still random (its phase),
 *   only no longer redrawn at each step. See docs/decisions/0009-reconnection-ladder.md.
 * - The trouble clock (and the phase) resets only after a link stayed up for 60 s, so a
 *   connect-then-drop loop (cloud accepting then kicking us) keeps climbing the ladder instead
 *   of hammering every second.
 *
 * @module
 */

/** Tunables; the defaults are the production values. */
export interface BackoffOptions {
  /** Scale of the ladder, ms: the first rung is within it. 1 s: the current agent's base. */
  baseMs?: number;
  /** Largest gap between attempts, ms. 30 s: protocol.md §1; bounds the time back. */
  capMs?: number;
  /** Retry period before the first accepted connection, ms. 5 s: protocol.md §1. */
  unlinkedRetryMs?: number;
  /** Up-time after which a link counts as stable and the ladder restarts, ms. 60 s. */
  stableMs?: number;
}

/** The policy's state (plain data: can be inspected and copied). */
export interface BackoffState {
  /** Failed or short-lived attempts since the last stable link. */
  attempt: number;
  /** Whether the cloud ever accepted us. */
  everAccepted: boolean;
  /** When the current link came up (ms), or null when down. */
  upSince: number | null;
  /** When the current run of trouble began (first drop after a stable link), or null. */
  troubleSince: number | null;
  /** This run of trouble's phase on the ladder, in [0, 1). */
  phase: number;
}

/**
 * The first rung of the ladder strictly after `elapsedMs` (time since the trouble began):
 * rungs at `base x (2^(k + phase) - 1)` while their gap (`base x 2^(k + phase)`) stays under
 * `cap`, then at `cap x (n + phase)`. Pure; O(1) however long the trouble lasts.
 *
 * @example
 * ```ts
 * import { nextRung } from "./backoff.ts";
 * // phase 0.5: rungs at 415, 1829, 4657 ms ...
 * console.assert(nextRung(1_000, 0.5, 1_000, 30_000) === 1_829);
 * ```
 */
export function nextRung(elapsedMs: number, phase: number, base: number, cap: number): number {
  const rung = (k: number) => base * (2 ** (k + phase) - 1);
  // K: the first rung whose gap would reach the cap. The ladder stops at rung K - 1; after it
  // the rungs are the grid cap x (n + phase): `cap` apart, and offset by the phase too, so a
  // fleet in a long outage is spread evenly over any 30 s (the ladder's own rungs folded onto
  // 30 s would leave a 2:1 slope).
  const lastLadder = ladderEnd(phase, base, cap);
  const el = Math.max(0, elapsedMs);
  if (el < lastLadder) {
    let k = Math.max(0, Math.floor(Math.log2(el / base + 1) - phase) + 1);
    while (k > 0 && rung(k - 1) > el) k--; // floating point: the first rung after el, not later
    while (rung(k) <= el) k++;
    return whole(rung(k), el);
  }
  return whole(cap * (Math.floor(el / cap - phase) + 1 + phase), el);
}

/** The ladder's last rung (ms after the trouble began): the one whose next gap would reach `cap`. */
function ladderEnd(phase: number, base: number, cap: number): number {
  const capK = Math.max(0, Math.ceil(Math.log2(cap / base) - phase));
  return capK === 0 ? -Infinity : base * (2 ** (capK - 1 + phase) - 1);
}

/** A rung in whole ms, still strictly after `el` (a delay of 0 would retry in a hot loop). */
function whole(rung: number, el: number): number {
  return Math.max(Math.floor(el) + 1, Math.ceil(rung));
}

/** Reconnection policy over an injected clock and random source. */
export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #unlinked: number;
  readonly #stable: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #state: BackoffState = {
    attempt: 0,
    everAccepted: false,
    upSince: null,
    troubleSince: null,
    phase: 0,
  };

  /** `now` in ms, `random` in [0, 1). */
  constructor(now: () => number, random: () => number, opts: BackoffOptions = {}) {
    this.#base = opts.baseMs ?? 1_000;
    this.#cap = opts.capMs ?? 30_000;
    this.#unlinked = opts.unlinkedRetryMs ?? 5_000;
    this.#stable = opts.stableMs ?? 60_000;
    this.#now = now;
    this.#random = random;
  }

  /** A copy of the state. */
  get state(): BackoffState {
    return { ...this.#state };
  }

  /**
   * Largest delay the policy can give now (the bound tests check against): on the ladder a
   * rung's gap is its time plus base, so at most `elapsed + base`; after it, the cap.
   */
  get maxDelayMs(): number {
    const s = this.#state;
    if (!s.everAccepted) return this.#unlinked;
    // A clock that jumped back makes the elapsed time negative: treat it as a fresh start.
    const elapsed = s.troubleSince === null ? 0 : Math.max(0, this.#now() - s.troubleSince);
    const onLadder = elapsed < ladderEnd(s.phase, this.#base, this.#cap);
    return onLadder ? Math.min(this.#cap, elapsed + this.#base) : this.#cap;
  }

  /** The link came up (the cloud accepted us). */
  connected(): void {
    this.#state.everAccepted = true;
    this.#state.upSince = this.#now();
  }

  /** The link went down, or an attempt failed; returns the delay before the next attempt. */
  disconnected(): number {
    const s = this.#state;
    const now = this.#now();
    if (s.upSince !== null && now - s.upSince >= this.#stable) {
      s.attempt = 0;
      s.troubleSince = null;
    }
    s.upSince = null;
    if (!s.everAccepted) return this.#unlinked;
    if (s.troubleSince === null || s.troubleSince > now) {
      s.troubleSince = now;
      s.phase = this.#random();
    }
    const elapsed = now - s.troubleSince;
    const delay = nextRung(elapsed, s.phase, this.#base, this.#cap) - elapsed;
    s.attempt++;
    return Math.max(0, delay);
  }
}
