/**
 * The runtime registry, `<state-dir>/runtimes.json`: per runtime its internal IP, the state the
 * cloud wants (a stop is remembered across agent and host restarts), and the pinned TLS
 * fingerprint of its API (trust on first use, docs/decisions/0005-run-command-tofu.md).
 *
 * @module
 */
import { z } from "zod";
import type { Logger } from "../log.ts";
import { atomicWriteJson } from "../state/atomic_write.ts";
import { readStateFile } from "./state_file.ts";

/** File name under the state directory. */
export const REGISTRY_FILE = "runtimes.json";

/** One registered runtime. */
export interface RuntimeEntry {
  /** Address on `<name>_internal`, how the agent reaches the API. */
  internal_ip: string | null;
  /** What the cloud asked for last. */
  desired: "running" | "stopped";
  /** Image the runtime was created from. */
  image: string;
  /** SHA-256 fingerprint of the API certificate, pinned on first use. */
  tls_fingerprint?: string;
  /** Set when a delete began: after a crash the delete is finished, never undone. */
  deleting?: boolean;
  /** Set while a first create has not finished: a failure removes what it made (a runtime that
   * existed once is never removed for a failed repair). */
  creating?: boolean;
  /** Why a first create failed (shown once its tombstone removed what it made). */
  error?: string;
  /** `runtime_version` the cloud asked for (the image tag), kept in the container's labels. */
  version?: string;
  /** Set when the agent found the runtime on the engine rather than creating it. */
  adopted?: boolean;
  /** Created by the original (Python) agent: its container and networks carry no labels. */
  legacy?: boolean;
}

const Entry = z.object({
  internal_ip: z.string().nullable(),
  desired: z.enum(["running", "stopped"]),
  image: z.string(),
  tls_fingerprint: z.string().optional(),
  deleting: z.boolean().optional(),
  creating: z.boolean().optional(),
  error: z.string().optional(),
  version: z.string().optional(),
  adopted: z.boolean().optional(),
  legacy: z.boolean().optional(),
});
const File = z.object({
  version: z.literal(1),
  runtimes: z.record(z.string(), Entry),
  /** Set by `delete_orchestrator`: an agent restarted mid self-destruct finishes it. */
  self_destruct: z.boolean().optional(),
});

/** In-memory registry, written through on every change. */
export class Registry {
  #data: Record<string, RuntimeEntry> = {};
  #selfDestruct = false;
  #path: string;
  #log: Logger;
  #writes: Promise<void> = Promise.resolve();

  /** A registry for `<stateDir>/runtimes.json`. */
  constructor(stateDir: string, log: Logger) {
    this.#path = `${stateDir}/${REGISTRY_FILE}`;
    this.#log = log;
  }

  /** Loads the file; false when it was missing or unreadable (the caller rebuilds). */
  async load(): Promise<boolean> {
    const r = await readStateFile(this.#path, (raw) => File.parse(raw), this.#log);
    this.#data = r.kind === "ok" ? r.value.runtimes : {};
    this.#selfDestruct = r.kind === "ok" && r.value.self_destruct === true;
    return r.kind === "ok";
  }

  /** One entry. */
  get(name: string): RuntimeEntry | undefined {
    return this.#data[name];
  }

  /** Every registered runtime name. */
  names(): string[] {
    return Object.keys(this.#data).sort();
  }

  /** Sets an entry and persists. Durable before visible: readers (the planner) see the entry
   * only once it is on disk, so nothing is done for a change a crash could still lose. */
  set(name: string, entry: RuntimeEntry): Promise<void> {
    return this.#commit({ ...this.#data, [name]: entry }, this.#selfDestruct);
  }

  /** Forgets an entry and persists. */
  delete(name: string): Promise<void> {
    if (!(name in this.#data)) return Promise.resolve();
    const { [name]: _, ...rest } = this.#data;
    return this.#commit(rest, this.#selfDestruct);
  }

  /** Whether a self-destruct was ordered. */
  get selfDestruct(): boolean {
    return this.#selfDestruct;
  }

  /** Records the self-destruct order and persists. */
  orderSelfDestruct(): Promise<void> {
    return this.#commit(this.#data, true);
  }

  /** Writes the next state (after every earlier write), then makes it the one readers see. */
  #commit(data: Record<string, RuntimeEntry>, selfDestruct: boolean): Promise<void> {
    const snapshot = {
      version: 1,
      runtimes: data,
      ...(selfDestruct ? { self_destruct: true } : {}),
    };
    this.#writes = this.#writes.catch(() => {}).then(async () => {
      await atomicWriteJson(this.#path, snapshot);
      this.#data = data;
      this.#selfDestruct = selfDestruct;
    });
    return this.#writes;
  }
}
