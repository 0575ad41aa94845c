/**
 * The Socket.IO edge of the session port: our own Socket.IO client (Engine.IO 4 over one
 * WebSocket, no polling, no upgrade) on Deno's WebSocket with a `Deno.HttpClient` holding the
 * device certificate. The server is verified against the system roots plus an optional extra CA
 * with its host name checked; Deno's TLS (rustls) speaks only TLS 1.2 and 1.3, so TLS 1.2 is the
 * floor without an option. Why our own client and not `npm:socket.io-client`:
 * docs/decisions/0001-socketio-client.md.
 *
 * This file keeps what outlives a connection: the reconnection schedule ({@linkcode Backoff}),
 * the `HttpClient`, the certificate, the link state and the handlers. One connection's protocol
 * is ./sio_link.ts, its packets ./sio_codec.ts (pure); when Deno's error for a failed opening
 * hides the cause, ./probe.ts finds it.
 *
 * Memory while the cloud is unreachable (issue 14): an attempt holds only its WebSocket and a
 * few closures, dropped when it ends; the one `Deno.HttpClient` (TLS set-up) is kept across
 * attempts. `node:https` is never used (it kept ~0.5 MiB per failed attempt).
 *
 * The client certificate is re-read before an attempt when its files changed (size or mtime):
 * a renewed certificate is used at the next connection without a restart; a broken renewal is
 * logged and the last good one kept.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { Backoff } from "./backoff.ts";
import { type Identity, loadIdentity } from "./identity.ts";
import { MASKED_ERROR, probeWebSocket } from "./probe.ts";
import { type Link, openLink } from "./sio_link.ts";
import { SioType } from "./sio_codec.ts";
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
  /**
   * Opens the WebSocket. Default: Deno's, with the device's `HttpClient`. Unit tests pass a
   * scripted socket (the session's logic without a network); the real wire is tested in tests/.
   */
  openSocket?: (url: string, client: () => Deno.HttpClient) => WebSocket;
  /** Finds why an opening failed when Deno's message hides it. Default: {@linkcode probeWebSocket}. */
  probe?: (url: string) => Promise<string | null>;
}

const denoSocket = (url: string, client: () => Deno.HttpClient) =>
  new WebSocket(url, { client: client() });

/** Turns a TLS / socket error into one line with a hint. Pure. */
export function explainConnectError(raw: string): string {
  const message = raw.replace(/: https?:\/\/\S+/g, ""); // rustls appends a manual's address
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
  if (
    m.includes("certificate") || m.includes("alert") || m.includes("handshake") ||
    m.includes("close_notify") || m.includes("closed the connection before answering")
  ) {
    return `${message} (TLS refused: the cloud may not accept this device certificate, or it is from another CA)`;
  }
  if (m.includes("refused") || m.includes("econnrefused")) {
    return `${message} (cloud not reachable)`;
  }
  if (m.includes("lookup address") || m.includes("dns error") || m.includes("name or service")) {
    return `${message} (the cloud's host name does not resolve: check --server-url and DNS)`;
  }
  return message;
}

/** The Engine.IO endpoint of a cloud URL: wss, Socket.IO's default path, protocol 4. Pure. */
export function engineUrl(cloudUrl: string): string {
  const u = new URL(cloudUrl);
  u.protocol = u.protocol === "http:" ? "ws:" : "wss:";
  u.pathname = "/socket.io/";
  u.searchParams.set("EIO", "4");
  u.searchParams.set("transport", "websocket");
  u.hash = "";
  return u.href;
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

/**
 * How long `close()` waits for the WebSocket's closing handshake, ms: long enough for the
 * DISCONNECT packet to reach the cloud (it then drops this device at once, not after its ping
 * timeout), short enough not to hold a shutdown.
 */
const CLOSE_WAIT_MS = 1_000;

/** Builds the session over our Socket.IO client. */
export function socketIoSession(opts: SocketIoOptions): Session {
  const log = opts.log;
  const fast = fastRetryMs();
  const backoff = opts.backoff ??
    new Backoff(
      () => Date.now(),
      Math.random,
      fast ? { baseMs: fast, capMs: fast, unlinkedRetryMs: fast } : {},
    );
  const endpoint = engineUrl(opts.url);
  const connectTimeoutMs = opts.connectTimeoutMs ?? 20_000;
  const openSocket = opts.openSocket ?? denoSocket;
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
      // WebSocket upgrades are HTTP/1.1; with HTTP/2 on, Deno would open a second connection
      // after each failed one (an h2 extended CONNECT). The price, a masked error, is paid
      // back by ./probe.ts.
      http2: false,
    } as Deno.CreateHttpClientOptions);
  const probe = opts.probe ??
    ((url: string) => probeWebSocket(url, client ?? (client = makeClient()), connectTimeoutMs));

  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let link: Link | null = null;
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
    if (closed || link) return;
    try {
      await refreshIdentity();
    } catch { /* never blocks an attempt */ }
    if (closed || link) return;
    log.debug(`Connecting to ${opts.url}`);
    try {
      link = attempt();
    } catch (err) { // the WebSocket refused at once (a permission, a malformed address)
      retry(`cannot connect to ${opts.url}: ${explainConnectError((err as Error).message)}`);
    }
  };

  /** Opens one WebSocket and runs a link on it. */
  const attempt = (): Link => {
    const ws = openSocket(endpoint, () => client ?? (client = makeClient()));
    const l: Link = openLink(ws, {
      connectTimeoutMs,
      log,
      events: {
        up: connected,
        message: (m) => messageHandler(m),
        down: (reason, wasUp) => {
          if (wasUp) {
            if (link === l) link = null;
            setState(false);
            retry(`disconnected (${reason})`);
            return;
          }
          const failed = (why: string) => {
            if (link === l) link = null; // until then no second attempt starts
            retry(`cannot connect to ${opts.url}: ${explainConnectError(why)}`);
          };
          if (!reason.includes(MASKED_ERROR) || closed) failed(reason);
          else probe(endpoint).then((found) => failed(found ?? reason), () => failed(reason));
        },
      },
    });
    return l;
  };

  const connected = () => {
    backoff.connected();
    log.info(`Connected to ${opts.url} as ${identity.agentId}`);
    setState(true);
  };

  return {
    connected: () => link?.up() ?? false,
    emit(event, payload) {
      const l = link;
      if (!l?.up()) return false;
      try {
        return l.send({ type: SioType.EVENT, nsp: "/", data: [event, payload] });
      } catch (err) {
        log.error(
          `Emit of ${JSON.stringify(event).slice(0, 80)} failed: ${(err as Error).message}`,
        );
        return false;
      }
    },
    onMessage(handler) {
      messageHandler = handler;
    },
    onState(listener) {
      stateListeners.push(listener);
    },
    start() {
      closed = false;
      if (link) return; // an attempt is in flight or the link is up
      clearTimeout(timer);
      void connect();
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const l = link;
      if (l) {
        // DISCONNECT first: the cloud drops this device at once instead of at its ping timeout.
        if (l.up()) l.send({ type: SioType.DISCONNECT, nsp: "/" });
        let wait: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          l.end("io client disconnect"),
          new Promise<void>((r) => wait = setTimeout(r, CLOSE_WAIT_MS)),
        ]);
        clearTimeout(wait);
      }
      client?.close();
      client = null;
    },
  };
}
