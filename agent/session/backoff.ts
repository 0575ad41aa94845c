/**
 * Reconnection policy, pure: clock and random source are injected, so a fleet simulator can
 * import it alone and unit tests need no timers.
 *
 * - Never accepted yet (the device may not be linked to an account): fixed 5 s retry, as the
 *   current agent does, so a freshly linked device comes online within seconds.
 * - After the first accepted connection: exponential backoff with full jitter, capped at 30 s.
 *   The window grows with the time since the trouble began, not with the attempt count:
 *   delay = random() x min(cap, max(base, 2 x (now - troubleSince))). Each retry thus about
 *   doubles the window (exponential), and, unlike a per-attempt window, every agent of a fleet
 *   that lost the cloud at the same instant has the same window at the same moment: when the
 *   cloud comes back their reconnections arrive evenly spread instead of in a burst from the
 *   agents whose counter happened to be low (measured with scripts/fleet_sim.ts: peak/mean of
 *   the reconnect rate 2-3 instead of 6-8 after a 5 s outage, everyone back in 10 s, not 30).
 * - The trouble clock resets only after a link stayed up for 60 s, so a connect-then-drop loop
 *   (cloud accepting then kicking us) keeps backing off instead of hammering every second.
 *
 * @module
 */

/** Tunables; the defaults are the production values. */
export interface BackoffOptions {
  /** First backoff window, ms. 1 s: the current agent's base, fast on a blip. */
  baseMs?: number;
  /** Largest window, ms. 30 s: protocol.md §1; bounds the time back after an outage. */
  capMs?: number;
  /** Retry period before the first accepted connection, ms. 5 s: protocol.md §1. */
  unlinkedRetryMs?: number;
  /** Up-time after which a link counts as stable and the counter resets, ms. 60 s. */
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
}

/** Reconnection policy over an injected clock and random source. */
export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #unlinked: number;
  readonly #stable: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #state: BackoffState = { attempt: 0, everAccepted: false, upSince: null, troubleSince: null };

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

  /** Largest delay the policy can give now (the bound tests check against). */
  get maxDelayMs(): number {
    if (!this.#state.everAccepted) return this.#unlinked;
    const since = this.#state.troubleSince;
    // A clock that jumped back makes the elapsed time negative: treat it as a fresh start.
    const elapsed = since === null ? 0 : Math.max(0, this.#now() - since);
    return Math.min(this.#cap, Math.max(this.#base, 2 * elapsed));
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
    if (s.troubleSince === null || s.troubleSince > now) s.troubleSince = now;
    const delay = Math.floor(this.#random() * this.maxDelayMs);
    s.attempt++;
    return delay;
  }
}
