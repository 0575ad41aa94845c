/**
 * One Socket.IO connection over one WebSocket: the Engine.IO and Socket.IO handshakes, pings,
 * inbound events with their acks, and every way it ends. No reconnection and no TLS here:
 * ./socketio.ts opens the WebSocket, decides when to try again, and keeps the link state.
 *
 * The handshake: the server's Engine.IO open packet (`0{sid, pingInterval, pingTimeout,
 * maxPayload}`), our CONNECT for namespace `/` with no auth payload (protocol.md §1), the
 * server's CONNECT; `connectTimeoutMs` for all of it. While open, each server ping `2` gets a
 * pong `3`, and a link that sees no ping for pingInterval + pingTimeout is dead ("ping
 * timeout": a half-open TCP connection, a NAT that forgot us, a crashed host).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import {
  decodeEngine,
  encodeSio,
  type Handshake,
  MESSAGE,
  parseHandshake,
  PONG,
  SioDecoder,
  type SioPacket,
  SioType,
} from "./sio_codec.ts";
import type { Inbound } from "./types.ts";

/** One connection attempt and, once the server accepted the namespace, the link. */
export interface Link {
  /** Whether the server accepted the namespace and the link is still open. */
  up(): boolean;
  /** Sends a packet; false when the link is not open or the packet is over the server's limit. */
  send(p: SioPacket): boolean;
  /** Ends it (once; `down` is told); resolves when the WebSocket has closed. */
  end(reason: string): Promise<void>;
}

/** What a link tells its owner. */
export interface LinkEvents {
  /** The server accepted the namespace. */
  up(): void;
  /** The link or attempt ended, for `reason`; `wasUp` when it had been accepted. Called once. */
  down(reason: string, wasUp: boolean): void;
  /** An inbound event; its ack answers on this link only. */
  message(msg: Inbound): void;
}

/** UTF-8 length of a frame, computed only when it could pass `limit`. */
function overLimit(frame: string, limit: number): boolean {
  // A UTF-16 unit is at most 3 bytes of UTF-8: below limit / 3 units no need to encode.
  return frame.length * 3 > limit && new TextEncoder().encode(frame).length > limit;
}

/** Runs the protocol on `ws` (just created, not yet open). */
export function openLink(
  ws: WebSocket,
  opts: { connectTimeoutMs: number; log: Logger; events: LinkEvents },
): Link {
  const { log, events } = opts;
  ws.binaryType = "arraybuffer";
  const decoder = new SioDecoder();
  let handshake: Handshake | null = null;
  let accepted = false;
  let ended = false;
  let wsError = "";
  let pingTimer: ReturnType<typeof setTimeout> | undefined;
  const wsClosed = Promise.withResolvers<void>();
  const connectTimer = setTimeout(() => void self.end("timeout"), opts.connectTimeoutMs);

  const self: Link = {
    up: () => accepted && !ended,
    send(p) {
      if (ended || ws.readyState !== WebSocket.OPEN) return false;
      const [text, ...attachments] = encodeSio(p);
      const frame = MESSAGE + text;
      // The server drops the whole link on a packet over its maxPayload (its
      // maxHttpBufferSize): lose this one packet, not every command in flight.
      if (handshake && overLimit(frame, handshake.maxPayload)) {
        log.error(`Packet of ${frame.length} characters not sent: over the cloud's limit`, {
          max_payload: handshake.maxPayload,
          head: frame.slice(0, 60),
        });
        return false;
      }
      ws.send(frame);
      for (const a of attachments) ws.send(a);
      return true;
    },
    end(reason) {
      if (ended) return wsClosed.promise;
      ended = true;
      clearTimeout(connectTimer);
      clearTimeout(pingTimer);
      ws.onmessage = null;
      ws.onerror = null;
      ws.onclose = () => wsClosed.resolve();
      if (ws.readyState === WebSocket.CLOSED) wsClosed.resolve();
      try {
        ws.close();
      } catch { /* already closing */ }
      events.down(reason, accepted);
      return wsClosed.promise;
    },
  };

  const armPing = (h: Handshake) => {
    clearTimeout(pingTimer);
    pingTimer = setTimeout(() => void self.end("ping timeout"), h.pingInterval + h.pingTimeout);
  };

  /** Hands an EVENT up with an ack bound to this link. */
  const inbound = (p: SioPacket) => {
    const [topic, ...args] = p.data as [string, ...unknown[]];
    const id = p.id;
    let answered = false;
    const name = () => JSON.stringify(topic).slice(0, 80);
    // An ack whose command came on an earlier connection is dropped, never sent into a new
    // one: a restarted cloud numbers its acks from 0 again, so it would answer another command.
    const ack = id === undefined ? undefined : (body: unknown) => {
      if (answered) return; // one answer per ack id, as Socket.IO allows
      answered = true;
      if (!self.up()) {
        log.warn(`Ack of ${name()} dropped: its connection is gone`);
        return;
      }
      try {
        self.send({ type: SioType.ACK, nsp: "/", id, data: [body] }); // oversize: logged there
      } catch (err) {
        log.error(`Ack of ${name()} not sent: ${(err as Error).message}`);
      }
    };
    try {
      events.message({ topic, payload: args[0], ...(ack ? { ack } : {}) });
    } catch (err) {
      log.error(`Message handler failed: ${(err as Error).message}`);
    }
  };

  const onPacket = (p: SioPacket) => {
    if (p.nsp !== "/") return; // only the main namespace is joined
    switch (p.type) {
      case SioType.CONNECT:
        if (accepted) return;
        accepted = true;
        clearTimeout(connectTimer);
        events.up();
        return;
      case SioType.CONNECT_ERROR: {
        const d = p.data as { message?: unknown } | string;
        const why = typeof d === "string" ? d : String(d?.message ?? "refused by the server");
        void self.end(`connect error: ${why}`);
        return;
      }
      case SioType.DISCONNECT:
        void self.end("io server disconnect");
        return;
      case SioType.EVENT:
      case SioType.BINARY_EVENT:
        if (accepted) inbound(p);
        return;
      default:
        return; // ACK: the agent never asks the cloud for one
    }
  };

  ws.onmessage = (ev: MessageEvent) => {
    try {
      const e = decodeEngine(ev.data);
      switch (e.type) {
        case "open":
          if (handshake) return;
          handshake = parseHandshake(e.data);
          armPing(handshake);
          self.send({ type: SioType.CONNECT, nsp: "/" });
          return;
        case "ping":
          if (!handshake) return;
          ws.send(PONG);
          armPing(handshake);
          return;
        case "close":
          void self.end("transport close");
          return;
        case "message": {
          if (!handshake) throw new SyntaxError("Cannot decode Engine.IO message: before open");
          const p = decoder.add(e.data);
          if (p) onPacket(p);
          return;
        }
        default:
          return; // pong, upgrade, noop: nothing to do on a websocket-only link
      }
    } catch (err) {
      // A broken stream cannot be resynchronised: drop the link, as the npm client did.
      void self.end(`parse error: ${(err as Error).message}`);
    }
  };
  ws.onerror = (ev: Event) => {
    wsError = (ev as ErrorEvent).message ?? "";
  };
  ws.onclose = (ev: CloseEvent) => {
    wsClosed.resolve();
    const code = `websocket closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`;
    if (accepted) void self.end(wsError ? `transport error: ${wsError}` : "transport close");
    else void self.end(wsError || code);
  };
  return self;
}
