/**
 * Netlink protocol logic over two raw sockets (see ffi.ts): one subscribed to the link, IPv4
 * address and IPv4 route groups for events, one unsubscribed for dumps (so dump replies and
 * events never interleave). No FFI here: the sockets are injected, and faked in the tests.
 *
 * @module
 */
import type { RawNetlinkSocket } from "./ffi.ts";
import * as C from "./netlink_constants.ts";
import { decodeDatagram } from "./netlink_decode.ts";
import { type DumpKind, dumpRequest } from "./netlink_encode.ts";
import {
  type AddressMessage,
  type LinkMessage,
  type NetlinkMessage,
  NetlinkParseError,
  type RouteMessage,
} from "./netlink_parser.ts";

/**
 * 64 KiB: the largest datagram the kernel builds for a dump is about one page per message batch
 * (up to 32 KiB with big link attributes); below ~4 KiB dumps come back truncated (MSG_TRUNC).
 */
export const RECV_BUFFER_BYTES = 64 * 1024;
/**
 * Under address churn most dumps come back NLM_F_DUMP_INTR (205 of 300 in a measurement): retry
 * this many times, then use the last one; the events that interrupted it schedule another dump.
 */
export const MAX_DUMP_ATTEMPTS = 10;
/** The kernel answers a dump in a few ms; 5 s means the socket is broken, not slow. */
export const DUMP_TIMEOUT_MS = 5000;

/** A consistent (or best-effort, see `interrupted`) picture of links, addresses and routes. */
export interface NetlinkDump {
  links: LinkMessage[];
  addrs: AddressMessage[];
  routes: RouteMessage[];
  /** Dumps retried because of NLM_F_DUMP_INTR or a lost reply. */
  retries: number;
  /** True when the last attempt was still interrupted. */
  interrupted: boolean;
}

/** Event messages read in one go; `overflow` means some were lost (ENOBUFS or garbage). */
export interface EventBatch {
  messages: NetlinkMessage[];
  overflow: boolean;
}

/** Dumps and event reading on top of two raw sockets. */
export class NetlinkClient {
  #seq = 1;
  #dumpBuf = new Uint8Array(RECV_BUFFER_BYTES);
  #eventBuf = new Uint8Array(RECV_BUFFER_BYTES);

  constructor(
    readonly events: RawNetlinkSocket,
    readonly dumps: RawNetlinkSocket,
    readonly timeoutMs = DUMP_TIMEOUT_MS,
  ) {}

  /** Dumps links, IPv4 addresses and IPv4 routes, retrying interrupted dumps. */
  async dumpAll(): Promise<NetlinkDump> {
    const links = await this.dump("link");
    const addrs = await this.dump("addr");
    const routes = await this.dump("route");
    return {
      links: links.messages.filter((m): m is LinkMessage => m.kind === "link"),
      addrs: addrs.messages.filter((m): m is AddressMessage =>
        m.kind === "addr" && m.family === C.AF_INET
      ),
      routes: routes.messages.filter((m): m is RouteMessage =>
        m.kind === "route" && m.family === C.AF_INET
      ),
      retries: links.retries + addrs.retries + routes.retries,
      interrupted: links.interrupted || addrs.interrupted || routes.interrupted,
    };
  }

  /** One dump, retried while interrupted (up to {@linkcode MAX_DUMP_ATTEMPTS}). */
  async dump(
    kind: DumpKind,
  ): Promise<{ messages: NetlinkMessage[]; retries: number; interrupted: boolean }> {
    let last: { messages: NetlinkMessage[]; interrupted: boolean } | null = null;
    for (let attempt = 0; attempt < MAX_DUMP_ATTEMPTS; attempt++) {
      last = await this.#dumpOnce(kind);
      if (!last.interrupted) return { ...last, retries: attempt };
    }
    return { messages: last?.messages ?? [], retries: MAX_DUMP_ATTEMPTS - 1, interrupted: true };
  }

  async #dumpOnce(kind: DumpKind): Promise<{ messages: NetlinkMessage[]; interrupted: boolean }> {
    const seq = this.#seq++;
    this.dumps.send(dumpRequest(kind, seq));
    const messages: NetlinkMessage[] = [];
    let interrupted = false;
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const r = this.dumps.recv(this.#dumpBuf);
      if (r.kind === "again") {
        const left = deadline - Date.now();
        const w = left > 0 ? await this.dumps.wait(left) : "timeout";
        if (w === "closed") throw new Error(`Cannot dump ${kind}s: socket closed`);
        if (w === "timeout") {
          throw new Error(`Cannot dump ${kind}s: no answer within ${this.timeoutMs} ms`);
        }
        continue;
      }
      // A lost or cut reply makes this dump worthless; the retry loop asks again.
      if (r.kind === "overflow" || r.truncated) interrupted = true;
      if (r.kind === "overflow") continue;
      for (const m of decodeDatagram(this.#dumpBuf.subarray(0, r.length))) {
        if (m.header.seq !== seq) continue; // the tail of an earlier, abandoned dump
        if ((m.header.flags & C.NLM_F_DUMP_INTR) !== 0) interrupted = true;
        if (m.kind === "error") {
          if (m.errno === 0) continue;
          throw new Error(`Cannot dump ${kind}s: kernel answered errno ${m.errno}`);
        }
        if (m.kind === "done") return { messages, interrupted };
        messages.push(m);
      }
    }
  }

  /**
   * Waits for events and returns everything readable, or null once the socket is closed.
   * Undecodable datagrams count as lost messages (`overflow`), which makes the caller re-dump.
   */
  async nextEvents(): Promise<EventBatch | null> {
    for (;;) {
      const batch: EventBatch = { messages: [], overflow: false };
      for (;;) {
        const r = this.events.recv(this.#eventBuf);
        if (r.kind === "again") break;
        if (r.kind === "overflow" || r.truncated) batch.overflow = true;
        if (r.kind === "overflow") continue;
        try {
          batch.messages.push(...decodeDatagram(this.#eventBuf.subarray(0, r.length)));
        } catch (e) {
          if (!(e instanceof NetlinkParseError)) throw e;
          batch.overflow = true;
        }
      }
      if (batch.messages.length > 0 || batch.overflow) return batch;
      if (await this.events.wait(-1) === "closed") return null;
    }
  }

  /** Closes both sockets (wakes a pending wait). */
  async close(): Promise<void> {
    await Promise.all([this.events.close(), this.dumps.close()]);
  }
}
