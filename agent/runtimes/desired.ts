/**
 * The desired state: the one thing commands write. Per runtime what the cloud asked for (run or
 * stay stopped, image, vNICs with the MACs they keep forever) and where it stands in its life
 * (`creating` until a first create finished, `ready`, `deleting`: a tombstone until its container
 * and networks are gone). Kept in the two files of the state directory, each written atomically:
 * `runtime_vnics.json` (protocol.md §8) and `runtimes.json` (ours).
 *
 * `loaded` is the first half of the "doubt" rule (docs/decisions/0010): until both files were
 * read (or found missing, or unreadable and kept aside), the reconciler plans nothing.
 *
 * @module
 */
import type { StoredVnic } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import { Registry, type RuntimeEntry } from "./registry.ts";
import { VnicStore } from "./vnic_store.ts";

/** Where a runtime stands in its life. */
export type Phase = "creating" | "ready" | "deleting";

/** One runtime as the cloud wants it. */
export interface DesiredRuntime {
  /** Container name. */
  name: string;
  /** False when the cloud stopped it (the intent is persisted). */
  running: boolean;
  /** Image reference. */
  image: string;
  /** `runtime_version` label value. */
  version: string;
  /** vNICs with the MAC actually used and the network last attached. */
  vnics: StoredVnic[];
  /** Life phase. */
  phase: Phase;
  /** Why a first create failed (its tombstone removes what it made). */
  error?: string;
  /** Address on `<name>_internal` last seen (how the agent reaches the API). */
  internal_ip: string | null;
  /** Found on the engine rather than created by this agent. */
  adopted?: boolean;
  /** Created by the original (Python) agent: container and networks without our labels. */
  legacy?: boolean;
}

/** Names the original agent's files list: `runtime_vnics.json` keys and `data/clients.json`
 * (`{"<name>": {"ip", "name"}}`, reference §6.1) keys, minus what our registry already has. A
 * missing or unreadable clients file adds nothing (it is never written or moved). */
async function legacyNames(
  stateDir: string,
  vnics: Readonly<Record<string, StoredVnic[]>>,
  registered: string[],
): Promise<string[]> {
  const names = new Set(Object.keys(vnics));
  try {
    const clients = JSON.parse(await Deno.readTextFile(`${stateDir}/data/clients.json`));
    if (clients && typeof clients === "object") {
      for (const k of Object.keys(clients)) if (RUNTIME_NAME.test(k)) names.add(k);
    }
  } catch { /* no original agent here */ }
  for (const r of registered) names.delete(r);
  return [...names].sort();
}

/** A Docker container name (what the original accepted as `container_name`). */
const RUNTIME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Tag of an image reference (`latest` when it has none). */
export function imageTag(image: string): string {
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? image.slice(colon + 1) : "latest";
}

/** The persisted desired state. */
export class DesiredState {
  #registry: Registry;
  #vnics: VnicStore;
  #loaded = false;
  #writes: Promise<unknown> = Promise.resolve();
  #legacy: string[] = [];
  #stateDir: string;

  /** A store over `<stateDir>/runtimes.json` and `<stateDir>/runtime_vnics.json`. */
  constructor(stateDir: string, log: Logger) {
    this.#registry = new Registry(stateDir, log);
    this.#vnics = new VnicStore(stateDir, log);
    this.#stateDir = stateDir;
  }

  /** Whether both files were read (missing or kept aside counts: then Docker's labels refill
   * the state through adoption). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Reads both files; rejects on an I/O error (the caller retries: no plan meanwhile). */
  async load(): Promise<void> {
    await this.#vnics.load();
    await this.#registry.load();
    this.#legacy = await legacyNames(this.#stateDir, this.#vnics.all(), this.#registry.names());
    this.#loaded = true;
  }

  /** Runtimes the original (Python) agent left on this state directory (in its
   * `runtime_vnics.json` or `data/clients.json`) that are in no desired state: their containers
   * carry none of our labels, and the reconciler adopts them by name. */
  legacyCandidates(): string[] {
    return this.#legacy.filter((n) => !this.#registry.get(n));
  }

  /** The vNICs the original agent recorded for a runtime. */
  legacyVnics(name: string): StoredVnic[] {
    return this.#vnics.get(name) ?? [];
  }

  /** Every runtime, sorted by name. */
  list(): DesiredRuntime[] {
    return this.#registry.names().flatMap((n) => {
      const d = this.get(n);
      return d ? [d] : [];
    });
  }

  /** Names of every runtime. */
  names(): string[] {
    return this.#registry.names();
  }

  /** One runtime. */
  get(name: string): DesiredRuntime | undefined {
    const e = this.#registry.get(name);
    if (!e) return undefined;
    const out: DesiredRuntime = {
      name,
      running: e.desired === "running",
      image: e.image,
      version: e.version ?? imageTag(e.image),
      vnics: this.#vnics.get(name) ?? [],
      phase: e.deleting ? "deleting" : e.creating ? "creating" : "ready",
      internal_ip: e.internal_ip,
    };
    if (e.error) out.error = e.error;
    if (e.adopted) out.adopted = true;
    if (e.legacy) out.legacy = true;
    return out;
  }

  /** Every runtime's vNICs (MACs in use). */
  allVnics(): Readonly<Record<string, StoredVnic[]>> {
    return this.#vnics.all();
  }

  /** The pinned TLS fingerprint of a runtime's API. */
  fingerprint(name: string): string | undefined {
    return this.#registry.get(name)?.tls_fingerprint;
  }

  /** Pins (or with undefined, forgets) a runtime's API fingerprint. */
  pin(name: string, fingerprint: string | undefined): Promise<void> {
    return this.#serial(async () => {
      const e = this.#registry.get(name);
      if (!e) return;
      const { tls_fingerprint: _, ...rest } = e;
      await this.#registry.set(
        name,
        fingerprint ? { ...rest, tls_fingerprint: fingerprint } : rest,
      );
    });
  }

  /** Writes a runtime (vNICs first: a registry entry always finds its vNICs). */
  put(d: DesiredRuntime): Promise<void> {
    return this.#serial(() => this.#put(d));
  }

  /** Changes fields of a runtime (no-op for an unknown name); applied to the state as it is when
   * the write runs, so concurrent writers (a command, the executor, a DHCP lease) never undo
   * each other. */
  patch(name: string, patch: Partial<Omit<DesiredRuntime, "name">>): Promise<void> {
    return this.update(name, (cur) => ({ ...cur, ...patch }));
  }

  /** Read-modify-write of a runtime, serialised with every other write. */
  update(name: string, fn: (cur: DesiredRuntime) => DesiredRuntime): Promise<void> {
    return this.#serial(async () => {
      const cur = this.get(name);
      if (cur) await this.#put(fn(cur));
    });
  }

  /** Forgets a runtime (its tombstone is done). */
  forget(name: string): Promise<void> {
    return this.#serial(async () => {
      await this.#registry.delete(name);
      await this.#vnics.delete(name);
    });
  }

  /** One write at a time: each write reads the state left by the one before it. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#writes.catch(() => {}).then(fn);
    this.#writes = next;
    return next;
  }

  async #put(d: DesiredRuntime): Promise<void> {
    await this.#vnics.set(d.name, d.vnics);
    const prev = this.#registry.get(d.name);
    const entry: RuntimeEntry = {
      internal_ip: d.internal_ip,
      desired: d.running ? "running" : "stopped",
      image: d.image,
      version: d.version,
    };
    if (prev?.tls_fingerprint) entry.tls_fingerprint = prev.tls_fingerprint;
    if (d.phase === "deleting") entry.deleting = true;
    if (d.phase === "creating") entry.creating = true;
    if (d.error) entry.error = d.error;
    if (d.adopted) entry.adopted = true;
    if (d.legacy) entry.legacy = true;
    await this.#registry.set(d.name, entry);
  }

  /** Whether `delete_orchestrator` was ordered (persisted: a restart finishes it). */
  get selfDestruct(): boolean {
    return this.#registry.selfDestruct;
  }

  /** Orders the self-destruct: every runtime becomes a tombstone. */
  orderSelfDestruct(): Promise<void> {
    return this.#serial(async () => {
      await this.#registry.orderSelfDestruct();
      for (const d of this.list()) {
        if (d.phase !== "deleting") await this.#put({ ...d, phase: "deleting" });
      }
    });
  }
}
