/**
 * The Socket.IO edge of the session port: wss only, TLS client certificate, the server verified
 * against the system roots plus an optional extra CA with its host name checked. Socket.IO's own
 * reconnection is off; {@linkcode Backoff} decides when to try again. Deno's TLS (rustls) speaks
 * only TLS 1.2 and 1.3, so TLS 1.2 is the floor without an option (docs/decisions/0001).
 *
 * Memory while the cloud is unreachable (issue 14): the first design built a new Socket.IO
 * manager per attempt over socket.io-client's Node transport (`ws` over `node:https` with
 * `agent: false`); under Deno that keeps ~0.5 MiB per failed attempt in a tight loop (~67 KiB
 * per attempt in the field) that is never freed: `node:https` builds a fresh TLS setup per
 * request and does not release it on a refused connection. Now one Manager and one Socket live
 * for the whole process (listeners added once), and the transport is Deno's own WebSocket with
 * a `Deno.HttpClient` holding the client certificate: the same wire (engine.io 4 over wss), no
 * `node:https` at all. Measured with scripts/bench_agent.ts (rss_growth_mib_per_1000_failed_*).
 *
 * The client certificate is re-read before an attempt when its files changed (size or mtime):
 * a renewed certificate is used at the next connection without a restart; a broken renewal is
 * logged and the last good one kept.
 *
 * @module
 */
import { Manager, type Socket, WebSocket as EngineWebSocket } from "socket.io-client";
import type { Logger } from "../log.ts";
import { Backoff } from "./backoff.ts";
import { type Identity, loadIdentity } from "./identity.ts";
import type { Inbound, Session } from "./types.ts";

/**
 * Test-only: retry delay in ms for every rung of the ladder (benchmarks of failed connections
 * make 1,000 attempts in seconds instead of hours). Unset in production.
 */
export const FAST_RETRY_ENV = "ORCHESTRATOR_TEST_RETRY_MS";

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

/** The test-only fast retry, or null. */
function fastRetryMs(): number | null {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(FAST_RETRY_ENV);
  } catch {
    return null; // no env permission: production
  }
  const n = Number(raw);
  return raw && Number.isFinite(n) && n >= 1 ? n : null;
}

/** The message of a connect error: socket.io's Error wraps the transport's event. Pure. */
export function connectErrorMessage(err: unknown): string {
  const e = err as { message?: unknown; description?: { message?: unknown; error?: unknown } };
  const inner = e?.description?.message ?? (e?.description?.error as Error | undefined)?.message;
  const outer = typeof e?.message === "string" ? e.message : String(err);
  return typeof inner === "string" && inner !== "" ? `${outer}: ${inner}` : outer;
}

/** Size and mtime of the certificate and key files, or null when unreadable. */
async function fileStamp(files: string[]): Promise<string | null> {
  try {
    const parts: string[] = [];
    for (const f of files) {
      const st = await Deno.stat(f);
      parts.push(`${st.size}:${st.mtime?.getTime() ?? 0}`);
    }
    return parts.join("|");
  } catch {
    return null;
  }
}

/** Builds the Socket.IO-backed session. */
export function socketIoSession(opts: SocketIoOptions): Session {
  const log = opts.log;
  const fast = fastRetryMs();
  const backoff = opts.backoff ??
    new Backoff(
      () => Date.now(),
      Math.random,
      fast ? { baseMs: fast, capMs: fast, unlinkedRetryMs: fast } : {},
    );
  // Deno's TLS adds `caCerts` to its default root store (it does not replace it), so the server
  // is verified against the roots plus the extra CA.
  let identity = opts.identity;
  let stamp: string | null = null;
  let client: Deno.HttpClient | null = null;
  const makeClient = () =>
    Deno.createHttpClient({
      cert: identity.cert,
      key: identity.key,
      ...(opts.serverCa ? { caCerts: [opts.serverCa] } : {}),
      http2: false, // WebSocket upgrades are HTTP/1.1
    } as Deno.CreateHttpClientOptions);

  /** engine.io's WebSocket transport on Deno's WebSocket with the device's HttpClient. */
  class DenoTlsWebSocket extends EngineWebSocket {
    // deno-lint-ignore no-explicit-any -- engine.io's own signature
    override createSocket(uri: string, protocols: string | string[] | undefined): any {
      return new WebSocket(uri, {
        ...(protocols ? { protocols } : {}),
        client: client ?? (client = makeClient()),
      });
    }
  }

  const manager = new Manager(opts.url, {
    transports: [DenoTlsWebSocket],
    reconnection: false,
    autoConnect: false,
    timeout: opts.connectTimeoutMs ?? 20_000,
  });
  const socket: Socket = manager.socket("/");
  let closed = false;
  let started = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let messageHandler: (msg: Inbound) => void = () => {};
  const stateListeners: ((up: boolean) => void)[] = [];

  const setState = (up: boolean) => {
    for (const l of stateListeners) {
      try {
        l(up);
      } catch (err) {
        log.error(`Link state listener failed: ${(err as Error).message}`);
      }
    }
  };

  const retry = (why: string) => {
    if (closed) return;
    const delay = backoff.disconnected();
    // "Failed to reconnect" is the line the original agent's troubleshooting guide greps for.
    log.warn(
      `Cloud link down: ${why}; Failed to reconnect, retrying in ${(delay / 1000).toFixed(1)} s`,
      {
        attempt: backoff.state.attempt,
      },
    );
    clearTimeout(timer);
    timer = setTimeout(() => void connect(), delay);
  };

  /** Re-reads the certificate when its files changed; keeps the last good one otherwise. */
  const refreshIdentity = async () => {
    const files = [identity.certFile, identity.keyFile];
    const now = await fileStamp(files);
    if (stamp === null) {
      stamp = now;
      return;
    }
    if (now === null || now === stamp) return;
    const dir = identity.certFile.slice(0, identity.certFile.lastIndexOf("/")) || ".";
    try {
      const next = await loadIdentity(dir);
      stamp = now;
      if (next.agentId !== identity.agentId) {
        log.warn("The renewed certificate names another device id; restart the agent to use it", {
          was: identity.agentId,
          now: next.agentId,
        });
      }
      identity = next;
      client?.close();
      client = null;
      log.info("Client certificate re-read", { valid_until: next.notAfter.toISOString() });
    } catch (err) {
      stamp = now; // not retried until the files change again
      log.error(
        `Renewed client certificate not usable, keeping the previous one: ${
          (err as Error).message
        }`,
      );
    }
  };

  const connect = async () => {
    if (closed) return;
    try {
      await refreshIdentity();
    } catch { /* never blocks an attempt */ }
    if (closed) return;
    log.debug(`Connecting to ${opts.url}`);
    socket.connect();
  };

  // Listeners are registered once for the life of the session: none piles up across attempts.
  // Each accepted connection gets a number: an ack whose command came on an earlier connection is
  // dropped, never sent into the new one (socket.io-client acks on whatever connection is
  // current, and a restarted cloud reuses ack ids from 0: the ack would answer another command).
  let connection = 0;
  socket.on("connect", () => {
    connection++;
    backoff.connected();
    log.info(`Connected to ${opts.url} as ${identity.agentId}`);
    setState(true);
  });
  socket.on("connect_error", (err: Error) => {
    retry(`cannot connect to ${opts.url}: ${explainConnectError(connectErrorMessage(err))}`);
  });
  socket.on("disconnect", (reason: string) => {
    setState(false);
    retry(`disconnected (${reason})`);
  });
  socket.onAny((topic: string, ...args: unknown[]) => {
    const last = args[args.length - 1];
    const raw = typeof last === "function" ? (last as (b: unknown) => void) : undefined;
    const on = connection;
    const ack = raw
      ? (body: unknown) => {
        if (on === connection && socket.connected) return raw(body);
        log.warn(`Ack of ${JSON.stringify(topic).slice(0, 80)} dropped: its connection is gone`);
      }
      : undefined;
    const payload = ack ? (args.length > 1 ? args[0] : undefined) : args[0];
    messageHandler({ topic, payload, ...(ack ? { ack } : {}) });
  });

  return {
    connected: () => socket.connected,
    emit(event, payload) {
      if (!socket.connected) return false;
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
      if (started && socket.connected) return;
      started = true;
      void connect();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      socket.disconnect(); // emits "disconnect" when up: the listener above reports the state
      manager.engine?.close();
      client?.close();
      client = null;
      return Promise.resolve();
    },
  };
}
