/**
 * `<state-dir>/runtime_vnics.json` (protocol.md §8): the vNICs of every runtime in canonical form
 * plus the MAC and network actually used. Written atomically after every change; an unreadable
 * file is kept aside and the content rebuilt from the runtime containers' labels.
 *
 * @module
 */
import { RuntimeVnicsFile, StoredVnic } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import { atomicWriteJson } from "../state/atomic_write.ts";
import { readStateFile } from "./state_file.ts";

/** File name under the state directory. */
export const VNICS_FILE = "runtime_vnics.json";

/** In-memory copy of the file, written through on every change. */
export class VnicStore {
  #data: RuntimeVnicsFile = {};
  #path: string;
  #log: Logger;
  #writes: Promise<void> = Promise.resolve();

  /** A store for `<stateDir>/runtime_vnics.json`. */
  constructor(stateDir: string, log: Logger) {
    this.#path = `${stateDir}/${VNICS_FILE}`;
    this.#log = log;
  }

  /** Loads the file; false when it was missing or unreadable (the caller rebuilds). A file of
   * the original agent with entries we do not understand (e.g. WiFi proxy-ARP vNICs) is loaded
   * for the entries we do, and the original is copied aside first (never lost, never moved). */
  async load(): Promise<boolean> {
    const skipped: string[] = [];
    const r = await readStateFile(this.#path, (raw) => {
      const whole = RuntimeVnicsFile.safeParse(raw);
      if (whole.success) return whole.data;
      if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw whole.error;
      const out: RuntimeVnicsFile = {};
      for (const [name, list] of Object.entries(raw as Record<string, unknown>)) {
        const one = Array.isArray(list) ? list.map((v) => StoredVnic.safeParse(v)) : [];
        if (one.length > 0 && one.every((x) => x.success)) {
          out[name] = one.map((x) => x.data!);
        } else skipped.push(name);
      }
      if (Object.keys(out).length === 0) throw whole.error;
      return out;
    }, this.#log);
    if (skipped.length) {
      const copy = `${this.#path}.orig-${Date.now()}`;
      await Deno.copyFile(this.#path, copy);
      this.#log.warn("vNICs not understood, kept in a copy of the file", {
        runtimes: skipped.join(","),
        copy,
      });
    }
    this.#data = r.kind === "ok" ? r.value : {};
    return r.kind === "ok";
  }

  /** The vNICs of a runtime (undefined when unknown). */
  get(runtime: string): StoredVnic[] | undefined {
    return this.#data[runtime];
  }

  /** Every runtime's vNICs. */
  all(): Readonly<RuntimeVnicsFile> {
    return this.#data;
  }

  /** Sets a runtime's vNICs and persists (visible once on disk, like the registry). */
  set(runtime: string, vnics: StoredVnic[]): Promise<void> {
    return this.#commit({ ...this.#data, [runtime]: vnics });
  }

  /** Forgets a runtime and persists. */
  delete(runtime: string): Promise<void> {
    if (!(runtime in this.#data)) return Promise.resolve();
    const { [runtime]: _, ...rest } = this.#data;
    return this.#commit(rest);
  }

  /** Writes are serialised so a slow write never lands after a newer one; the new content is
   * what readers see once it is on disk. */
  #commit(data: RuntimeVnicsFile): Promise<void> {
    this.#writes = this.#writes.catch(() => {}).then(async () => {
      await atomicWriteJson(this.#path, data);
      this.#data = data;
    });
    return this.#writes;
  }
}
