/**
 * Reconnection policy, pure: clock and random source are injected, so a fleet simulator can
 * import it alone and unit tests need no timers.
 *
 * - Never accepted yet (the device may not be linked to an account): fixed 5 s retry, as the
 *   current agent does, so a freshly linked device comes online within seconds.
 * - After the first accepted connection: exponential backoff with full jitter,
 *   delay = random() x min(cap, base x 2^attempt), cap 30 s. Full jitter spreads a fleet that
 *   lost the cloud at the same instant over the whole window instead of in synchronised waves.
 * - The attempt counter resets only after a link stayed up for 60 s, so a connect-then-drop loop
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
}

/** Reconnection policy over an injected clock and random source. */
export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #unlinked: number;
  readonly #stable: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #state: BackoffState = { attempt: 0, everAccepted: false, upSince: null };

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
    return Math.min(this.#cap, this.#base * 2 ** Math.min(this.#state.attempt, 30));
  }

  /** The link came up (the cloud accepted us). */
  connected(): void {
    this.#state.everAccepted = true;
    this.#state.upSince = this.#now();
  }

  /** The link went down, or an attempt failed; returns the delay before the next attempt. */
  disconnected(): number {
    const s = this.#state;
    if (s.upSince !== null && this.#now() - s.upSince >= this.#stable) s.attempt = 0;
    s.upSince = null;
    if (!s.everAccepted) return this.#unlinked;
    const delay = Math.floor(this.#random() * this.maxDelayMs);
    s.attempt++;
    return delay;
  }
}
