/**
 * The agent's view of the host's interfaces, fed by netmon's events. Pure state: replaced by
 * every `network_discovery` (removed interfaces disappear), updated by each `network_change`.
 * It supplies parent subnet and gateway to `create_new_runtime` and drives re-wiring.
 *
 * @module
 */
import type { InterfaceGone, NetmonEvent, NetmonInterface } from "../../contracts/mod.ts";

import type { InterfaceView } from "../runtimes/interface_view.ts";

/** Why an interface is not usable right now. */
export type InterfaceAbsence = "down" | "removed" | "unknown";

/** What changed in the cache after one event, for the re-wiring logic. */
export interface CacheUpdate {
  /** Interfaces whose description changed (new, or other addresses/gateway). */
  changed: NetmonInterface[];
  /** Interfaces that went down or disappeared. */
  gone: { interface: string; status: "down" | "removed" }[];
  /** True for a full discovery (the whole picture was replaced). */
  discovery: boolean;
}

/** The primary IPv4 subnet netmon reports for an interface (its first address), or null. */
export function primarySubnet(iface: NetmonInterface): string | null {
  return iface.ipv4_addresses[0]?.subnet ?? null;
}

function same(a: NetmonInterface, b: NetmonInterface): boolean {
  const key = (i: NetmonInterface) =>
    JSON.stringify([i.index, i.mac_address, i.gateway, i.ipv4_addresses, i.type]);
  return key(a) === key(b);
}

/** Interface cache; implements {@linkcode InterfaceView}. */
export class InterfaceCache implements InterfaceView {
  #up = new Map<string, NetmonInterface>();
  #absent = new Map<string, "down" | "removed">();
  #synced = false;

  /** True once a discovery has been applied (the cache is the whole picture). */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * True when at least one interface is known (up). False before netmon's first discovery, and
   * when netmon reports nothing usable: then creates without `parent_subnet` and re-wiring cannot
   * work (`agent doctor` fails its netmon check on this).
   */
  hasData(): boolean {
    return this.#up.size > 0;
  }

  get(name: string): NetmonInterface | undefined {
    return this.#up.get(name);
  }

  /** Why `name` is not in the cache. */
  absence(name: string): InterfaceAbsence {
    return this.#absent.get(name) ?? "unknown";
  }

  /** Every interface that is up, sorted by name. */
  list(): NetmonInterface[] {
    return [...this.#up.values()].sort((a, b) => a.interface.localeCompare(b.interface));
  }

  /** Applies one netmon event and says what changed. */
  apply(event: NetmonEvent): CacheUpdate {
    if (event.type === "network_discovery") {
      const next = new Map(event.data.interfaces.map((i) => [i.interface, i]));
      const changed = [...next.values()].filter((i) => {
        const prev = this.#up.get(i.interface);
        return !prev || !same(prev, i);
      });
      const gone = [...this.#up.keys()].filter((n) => !next.has(n)).map((n) => ({
        interface: n,
        status: "removed" as const,
      }));
      for (const g of gone) this.#absent.set(g.interface, g.status);
      for (const name of next.keys()) this.#absent.delete(name);
      this.#up = next;
      this.#synced = true;
      return { changed, gone, discovery: true };
    }
    const data = event.data;
    if ("status" in data) {
      const g = data as InterfaceGone;
      const before = this.#absent.get(g.interface);
      const wasUp = this.#up.delete(g.interface);
      // News only for an interface known before (up, or down and now removed): the original
      // netmon also reports br-* bridges going down (its down/removed filter is weaker,
      // reference §9.2), which were never listed; remembering those would grow without bound.
      if (!wasUp && before === undefined) return { changed: [], gone: [], discovery: false };
      this.#absent.set(g.interface, g.status);
      const news = wasUp || before !== g.status;
      return {
        changed: [],
        gone: news ? [{ interface: g.interface, status: g.status }] : [],
        discovery: false,
      };
    }
    const iface = data as NetmonInterface;
    const prev = this.#up.get(iface.interface);
    this.#up.set(iface.interface, iface);
    this.#absent.delete(iface.interface);
    return {
      changed: prev && same(prev, iface) ? [] : [iface],
      gone: [],
      discovery: false,
    };
  }
}
