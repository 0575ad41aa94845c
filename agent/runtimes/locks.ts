/**
 * One operation per runtime at a time (protocol.md §2). Taken synchronously by the handler
 * before it acks, so a second command sees the busy error at once; different runtimes never wait
 * for each other. Plus a small FIFO mutex for short critical sections (one per MACVLAN parent).
 *
 * @module
 */

/** The kinds of operation that hold a runtime. */
export type OpKind = "create" | "delete" | "start" | "stop" | "restart";

/** A runtime already has an operation running. */
export class BusyError extends Error {
  /** The busy runtime. */
  readonly runtime: string;
  /** Builds the busy error with the protocol's exact text. */
  constructor(runtime: string, kind: OpKind) {
    super(`Container ${runtime} already has a ${kind} operation in progress`);
    this.name = "BusyError";
    this.runtime = runtime;
  }
}

/** Per-runtime try-locks. */
export class RuntimeLocks {
  #held = new Map<string, OpKind>();

  /** Takes the lock or throws {@linkcode BusyError}; returns the release function. */
  acquire(runtime: string, kind: OpKind): () => void {
    const holder = this.#held.get(runtime);
    if (holder) throw new BusyError(runtime, holder);
    this.#held.set(runtime, kind);
    let released = false;
    return () => {
      if (!released) this.#held.delete(runtime);
      released = true;
    };
  }

  /** Every runtime held right now. */
  held(): ReadonlySet<string> {
    return new Set(this.#held.keys());
  }

  /** The operation holding a runtime, if any. */
  holder(runtime: string): OpKind | undefined {
    return this.#held.get(runtime);
  }
}

/** Keyed FIFO mutex: `run(key, fn)` runs `fn` after every earlier `fn` of the same key. */
export class KeyedMutex {
  #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` exclusively for `key`. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.#tails.set(key, next);
    try {
      return await next;
    } finally {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    }
  }
}
