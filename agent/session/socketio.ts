/**
 * The Socket.IO edge of the session port: wss only, TLS client certificate, the server verified
 * against the system roots plus an optional extra CA with its host name checked. Socket.IO's own
 * reconnection is off; {@linkcode Backoff} decides when to try again. Deno's TLS (rustls) speaks
 * only TLS 1.2 and 1.3, so TLS 1.2 is the floor without an option (docs/decisions/0001).
 *
 * @module
 */
import { io, type Socket } from "socket.io-client";
import type { Logger } from "../log.ts";
import { Backoff } from "./backoff.ts";
import type { Identity } from "./identity.ts";
import type { Inbound, Session } from "./types.ts";

/** What the adapter needs. */
export interface SocketIoOptions {
  /** Cloud URL (`https://...`). */
  url: string;
  /** Checked device identity. */
  identity: Identity;
  /** Extra CA bundle (PEM) trusted for the server, besides the system roots. */
  serverCa?: string;
  /** Logger. */
  log: Logger;
  /** Reconnection policy (real clock by default). */
  backoff?: Backoff;
  /** Handshake timeout, ms. 20 s: Socket.IO's default; a slow satellite link still connects. */
  connectTimeoutMs?: number;
}

/** Turns a TLS / socket error into one line with a hint. Pure. */
export function explainConnectError(message: string): string {
  const m = message.toLowerCase();
  if (m.includes("notvalidforname") || m.includes("not valid for name") || m.includes("hostname")) {
    return `${message} (the server certificate does not name this host: check --server-url)`;
  }
  if (
    m.includes("unknownissuer") || m.includes("unknown issuer") || m.includes("self-signed") ||
    m.includes("self signed")
  ) {
    return `${message} (the server certificate is not signed by a trusted CA: check --server-ca)`;
  }
  if (m.includes("certificate") || m.includes("alert") || m.includes("handshake")) {
    return `${message} (TLS refused: the cloud may not accept this device certificate, or it is from another CA)`;
  }
  if (m.includes("refused") || m.includes("econnrefused")) {
    return `${message} (cloud not reachable)`;
  }
  return message;
}

/** Builds the Socket.IO-backed session. */
export function socketIoSession(opts: SocketIoOptions): Session {
  const log = opts.log;
  const backoff = opts.backoff ?? new Backoff(() => Date.now(), Math.random);
  // Deno's TLS adds `ca` to its default root store (it does not replace it), so the server is
  // verified against the roots plus the extra CA.
  const ca = opts.serverCa ? [opts.serverCa] : undefined;
  let socket: Socket | null = null;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let messageHandler: (msg: Inbound) => void = () => {};
  const stateListeners: ((up: boolean) => void)[] = [];

  const setState = (up: boolean) => {
    for (const l of stateListeners) l(up);
  };

  const retry = (why: string) => {
    if (closed) return;
    const delay = backoff.disconnected();
    log.warn(`Cloud link down: ${why}; retrying in ${(delay / 1000).toFixed(1)} s`, {
      attempt: backoff.state.attempt,
    });
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  };

  const connect = () => {
    if (closed) return;
    socket?.removeAllListeners();
    socket?.close();
    const s = io(opts.url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: opts.connectTimeoutMs ?? 20_000,
      rejectUnauthorized: true,
      cert: opts.identity.cert,
      key: opts.identity.key,
      ...(ca ? { ca } : {}),
    });
    socket = s;
    log.debug(`Connecting to ${opts.url}`);
    s.on("connect", () => {
      backoff.connected();
      log.info(`Connected to ${opts.url} as ${opts.identity.agentId}`);
      setState(true);
    });
    s.on("connect_error", (err: Error) => {
      if (socket !== s) return;
      retry(`cannot connect to ${opts.url}: ${explainConnectError(err.message)}`);
    });
    s.on("disconnect", (reason: string) => {
      if (socket !== s) return;
      setState(false);
      retry(`disconnected (${reason})`);
    });
    s.onAny((topic: string, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === "function" ? (last as (b: unknown) => void) : undefined;
      const payload = ack ? (args.length > 1 ? args[0] : undefined) : args[0];
      messageHandler({ topic, payload, ...(ack ? { ack } : {}) });
    });
  };

  return {
    connected: () => socket?.connected ?? false,
    emit(event, payload) {
      if (!socket?.connected) return false;
      socket.emit(event, payload);
      return true;
    },
    onMessage(handler) {
      messageHandler = handler;
    },
    onState(listener) {
      stateListeners.push(listener);
    },
    start() {
      closed = false;
      connect();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      const s = socket;
      socket = null;
      if (s) {
        s.removeAllListeners();
        s.close();
        setState(false);
      }
      return Promise.resolve();
    },
  };
}
