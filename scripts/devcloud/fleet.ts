/**
 * What the dev control plane knows of each agent's runtimes, for the web page. The protocol has
 * no "list runtimes" topic, so the list is learned from what passes through `send`: a
 * `create_new_runtime` the agent accepted adds a runtime, a `get_device_status` that finds one
 * adds it too, and a `not_found` after a `delete_device` removes it. Statuses are refreshed on
 * demand (when the page polls), never in the background, so an idle control plane sends nothing.
 *
 * @module
 */

/** One runtime as the page shows it. */
export interface RuntimeEntry {
  /** Container name (the cloud's `device_id`). */
  name: string;
  /** The vNICs it was created with, when the create passed through here. */
  vnics: unknown[];
  /** True once a `delete_device` was accepted. */
  deleting: boolean;
  /** The last `get_device_status` ack, or null before the first. */
  status: Record<string, unknown> | null;
  /** When `status` was received, ms since epoch (0 = never). */
  updatedAt: number;
}

/** Sends a topic to an agent and returns the ack (the control plane's `send`). */
export type Send = (
  agent: string,
  topic: string,
  payload: unknown,
  ms?: number,
) => Promise<unknown>;

/** A status older than this is refreshed when the page asks (it polls every 1.5 s). */
const STATUS_MAX_AGE_MS = 1_000;
/** A status query that takes longer than this leaves the old status in place. */
const STATUS_TIMEOUT_MS = 3_000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Runtimes per agent. */
export class Fleet {
  readonly #byAgent = new Map<string, Map<string, RuntimeEntry>>();

  #entry(agent: string, name: string): RuntimeEntry {
    let list = this.#byAgent.get(agent);
    if (!list) this.#byAgent.set(agent, list = new Map());
    let e = list.get(name);
    if (!e) list.set(name, e = { name, vnics: [], deleting: false, status: null, updatedAt: 0 });
    return e;
  }

  /** Learns from one command and its ack (called by the control plane's `send`). */
  observe(agent: string, topic: string, payload: unknown, ack: unknown): void {
    if (!isObject(payload) || !isObject(ack)) return;
    if (topic === "create_new_runtime" && typeof payload.container_name === "string") {
      if (ack.status !== "creating") return;
      const e = this.#entry(agent, payload.container_name);
      e.vnics = Array.isArray(payload.vnic_configs) ? payload.vnic_configs : [];
      e.deleting = false;
      return;
    }
    if (typeof payload.device_id !== "string" || payload.device_id === "__orchestrator__") return;
    const name = payload.device_id;
    const known = this.#byAgent.get(agent)?.get(name);
    if (topic === "delete_device" && ack.status === "deleting") {
      this.#entry(agent, name).deleting = true;
    } else if (topic === "get_device_status") {
      if (ack.status === "not_found") {
        if (known?.deleting) this.#byAgent.get(agent)!.delete(name);
        else if (known) Object.assign(known, { status: ack, updatedAt: Date.now() });
        return;
      }
      Object.assign(this.#entry(agent, name), { status: ack, updatedAt: Date.now() });
    }
  }

  /** Names of an agent's known runtimes, sorted. */
  names(agent: string): string[] {
    return [...(this.#byAgent.get(agent)?.keys() ?? [])].sort();
  }

  /** Forgets a runtime (the page's "forget" for one that no longer exists). */
  forget(agent: string, name: string): boolean {
    return this.#byAgent.get(agent)?.delete(name) ?? false;
  }

  /** Asks a connected agent for the status of every runtime whose status is stale. */
  async refresh(agent: string, send: Send): Promise<void> {
    const now = Date.now();
    const stale = [...(this.#byAgent.get(agent)?.values() ?? [])]
      .filter((e) => now - e.updatedAt > STATUS_MAX_AGE_MS);
    await Promise.all(stale.map((e) =>
      // send() observes the ack, which updates (or removes) the entry.
      send(agent, "get_device_status", { device_id: e.name }, STATUS_TIMEOUT_MS).catch(() => {})
    ));
  }

  /** The runtimes of an agent as the page shows them. */
  list(agent: string): RuntimeEntry[] {
    return this.names(agent).map((n) => ({ ...this.#byAgent.get(agent)!.get(n)! }));
  }
}
