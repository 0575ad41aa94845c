/**
 * The monitor: events are hints, a full snapshot is the truth. Reads netlink events, publishes
 * `down` / `removed` at once from link events, and after a burst settles re-dumps and publishes
 * the difference. Every dependency is injected (netlink port, clock, sysfs probe, logger, sink).
 *
 * @module
 */
import type { NetmonEvent, NetmonInterface, NetworkDiscoveryEvent } from "../contracts/mod.ts";
import { type Change, diffSnapshots, immediateChange } from "./diff.ts";
import { type Clock, Debouncer, systemClock } from "./debounce.ts";
import type { Logger } from "./log.ts";
import type { EventBatch, NetlinkDump } from "./netlink_client.ts";
import type { LinkMessage } from "./netlink_parser.ts";
import { isoTime } from "./iso_time.ts";
import { buildSnapshot, type WirelessProbe } from "./snapshot.ts";

/** The netlink calls the monitor uses (NetlinkClient, or a fake). */
export interface NetlinkPort {
  dumpAll(): Promise<NetlinkDump>;
  nextEvents(): Promise<EventBatch | null>;
  close(): Promise<void>;
}

/** What the monitor needs. */
export interface MonitorDeps {
  netlink: NetlinkPort;
  debounceMs: number;
  wireless: WirelessProbe;
  log: Logger;
  publish: (event: NetmonEvent) => void;
  clock?: Clock;
  /** Milliseconds since the epoch, for time stamps (Date.now by default). */
  now?: () => number;
}

/** Counters reported by `get_status`. */
export interface MonitorCounters {
  netlink_messages: number;
  overflows: number;
  dumps: number;
  dump_retries: number;
  dump_failures: number;
  /** Failed dumps since the last good one (the original's `consecutive_errors`). */
  dump_failures_in_a_row: number;
  changes_published: number;
  /** Interfaces re-sent by the periodic re-send (see {@linkcode Monitor.resendAll}). */
  resent: number;
}

/** See the module doc. */
export class Monitor {
  #published = new Map<string, NetmonInterface>();
  #queue: Promise<unknown> = Promise.resolve();
  #debouncer: Debouncer;
  #now: () => number;
  #stopped = false;
  #started = false;
  /** Links published as down by an event, by ifindex: their deletion is published as removed. */
  #down = new Map<number, string>();
  #lastDumpAt: string | null = null;
  readonly counters: MonitorCounters = {
    netlink_messages: 0,
    overflows: 0,
    dumps: 0,
    dump_retries: 0,
    dump_failures: 0,
    dump_failures_in_a_row: 0,
    changes_published: 0,
    resent: 0,
  };

  constructor(readonly deps: MonitorDeps) {
    this.#now = deps.now ?? Date.now;
    this.#debouncer = new Debouncer(
      deps.debounceMs,
      () => void this.resync("events settled"),
      deps.clock ?? systemClock,
    );
  }

  /** Interfaces as clients were last told. */
  get interfaces(): NetmonInterface[] {
    return [...this.#published.values()];
  }

  /** Takes the first snapshot (publishes nothing: no client can be connected yet). */
  async start(): Promise<void> {
    await this.resync("start");
    this.#started = true;
  }

  /** Reads events until the netlink port closes. */
  async run(): Promise<void> {
    for (;;) {
      const batch = await this.deps.netlink.nextEvents();
      if (batch === null || this.#stopped) return;
      this.handle(batch);
    }
  }

  /** Handles one batch of events (public for tests). */
  handle(batch: EventBatch): void {
    this.counters.netlink_messages += batch.messages.length;
    const at = isoTime(this.#now());
    // Deleting a link first reports it down, then deleted: only the last state per link counts.
    const last = new Map<number, LinkMessage>();
    for (const m of batch.messages) if (m.kind === "link") last.set(m.index, m);
    for (const link of last.values()) {
      const wasDown = this.#down.get(link.index);
      if (link.op === "del" && wasDown !== undefined) {
        this.#down.delete(link.index); // published as down earlier, now gone for good
        this.#emit({ interface: wasDown, ipv4_addresses: [], status: "removed", timestamp: at });
        continue;
      }
      const gone = immediateChange(this.#published, link, at);
      if (!gone) continue;
      this.#published.delete(gone.interface);
      if (gone.status === "down") this.#down.set(link.index, gone.interface);
      this.#emit(gone);
    }
    if (batch.overflow) {
      this.counters.overflows++;
      this.deps.log.warning("Netlink events lost (ENOBUFS): a full re-dump follows");
      // A lost link-down must still be published at once: re-dump now for down/removed only;
      // the rest waits for the burst to settle like any other change.
      this.resync("events lost", true).catch(() => {});
    }
    if (batch.messages.length > 0 || batch.overflow) this.#debouncer.poke();
  }

  /**
   * Re-dumps and publishes the difference (only interfaces gone when `goneOnly`); resolves with
   * the number of changes. Dumps run one at a time, in order.
   */
  resync(reason: string, goneOnly = false): Promise<number> {
    const run = this.#queue.then(() => this.#resyncNow(reason, goneOnly));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #resyncNow(reason: string, goneOnly: boolean): Promise<number> {
    if (this.#stopped) return 0;
    let dump: NetlinkDump;
    try {
      dump = await this.deps.netlink.dumpAll();
    } catch (e) {
      this.counters.dump_failures++;
      this.counters.dump_failures_in_a_row++;
      this.deps.log.error(`Cannot re-dump (${reason}): ${(e as Error).message}`);
      if (!this.#stopped) this.#debouncer.poke(); // try again after the next quiet period
      throw e;
    }
    this.counters.dumps++;
    this.counters.dump_failures_in_a_row = 0;
    this.counters.dump_retries += dump.retries;
    if (dump.interrupted) this.#debouncer.poke(); // still churning: look again once it settles
    const at = isoTime(this.#now());
    this.#lastDumpAt = at;
    const next = buildSnapshot(dump, this.deps.wireless, at);
    let changes = diffSnapshots(this.#published, next, at);
    if (goneOnly) {
      changes = changes.filter((c) => "status" in c);
      for (const c of changes) this.#published.delete(c.interface);
    } else {
      this.#published = next.interfaces;
      this.#down.clear(); // the snapshot is the truth again
    }
    for (const c of changes) this.#emit(c);
    this.deps.log.debug(`Re-dumped (${reason}): ${changes.length} change(s)`);
    return changes.length;
  }

  #emit(change: Change): void {
    if (!this.#started) return; // the first snapshot is the baseline, not a change
    this.counters.changes_published++;
    const what = "status" in change ? change.status : "changed";
    this.deps.log.info(`network_change ${change.interface}: ${what}`);
    this.deps.publish({ type: "network_change", data: change });
  }

  /**
   * Re-sends every published interface as a full `network_change`, stamped now, as the original
   * netmon does every 30 s (reference §9.2): clients written for it expect a periodic refresh.
   * Nothing changed, so readers that compare (ours) do nothing. Returns how many were sent.
   */
  resendAll(): number {
    if (!this.#started || this.#stopped) return 0;
    const timestamp = isoTime(this.#now());
    const all = this.interfaces;
    for (const i of all) this.deps.publish({ type: "network_change", data: { ...i, timestamp } });
    this.counters.resent += all.length;
    this.deps.log.debug(`Re-sent ${all.length} interface(s)`);
    return all.length;
  }

  /** A fresh `network_discovery`: the current picture, stamped now. */
  discovery(): NetworkDiscoveryEvent {
    const timestamp = isoTime(this.#now());
    return {
      type: "network_discovery",
      data: { interfaces: this.interfaces.map((i) => ({ ...i, timestamp })), timestamp },
    };
  }

  /** Data of the `get_status` reply. */
  status(): Record<string, unknown> & MonitorCounters & { change_pending: boolean } {
    return {
      interfaces: this.interfaces,
      debounce_ms: this.deps.debounceMs,
      change_pending: this.#debouncer.pending,
      last_dump_at: this.#lastDumpAt,
      ...this.counters,
    };
  }

  /** Stops the timers and closes netlink (wakes the pending poll). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#debouncer.cancel();
    await this.deps.netlink.close();
    await this.#queue;
  }
}
