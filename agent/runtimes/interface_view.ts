/**
 * The agent's view of the host's interfaces, as netmon publishes them (protocol.md §6). The real
 * one is netmon's cache (owned by the session work); this module holds the interface the runtime
 * manager needs and a simple in-memory implementation for tests and the host fallback.
 *
 * @module
 */
import type { NetmonInterface } from "../../contracts/mod.ts";

/** What the agent reads about host interfaces. */
export interface InterfaceView {
  /** One interface by name; undefined when netmon does not list it. */
  get(name: string): NetmonInterface | undefined;
  /** Every interface netmon lists. */
  list(): NetmonInterface[];
  /** Whether netmon sent its discovery (before that, absence means nothing). */
  readonly synced: boolean;
  /** Why an interface is not listed. */
  absence(name: string): "down" | "removed" | "unknown";
}

/** An in-memory view over a fixed or replaced list. */
export class StaticInterfaceView implements InterfaceView {
  #byName = new Map<string, NetmonInterface>();

  /** A view holding `interfaces`. */
  constructor(interfaces: NetmonInterface[] = []) {
    this.replace(interfaces);
  }

  /** Replaces the whole list. */
  replace(interfaces: NetmonInterface[]): void {
    this.#byName = new Map(interfaces.map((i) => [i.interface, i]));
  }

  /** Sets or replaces one interface. */
  put(iface: NetmonInterface): void {
    this.#byName.set(iface.interface, iface);
  }

  /** @inheritdoc */
  get(name: string): NetmonInterface | undefined {
    return this.#byName.get(name);
  }

  /** @inheritdoc */
  list(): NetmonInterface[] {
    return [...this.#byName.values()];
  }

  /** A fixed list is a complete picture. */
  get synced(): boolean {
    return true;
  }

  /** @inheritdoc */
  absence(_name: string): "down" | "removed" | "unknown" {
    return "unknown";
  }
}
