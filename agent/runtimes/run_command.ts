/**
 * `run_command`: one HTTPS request to a registered runtime's API, and only there: the request
 * goes to the runtime's internal IP, the port is 8443 unless an explicit allow-list names
 * another. The runtime's certificate is self-signed, so it is pinned on first use by its SHA-256
 * fingerprint (docs/decisions/0005-run-command-tofu.md): the TLS handshake is finished and the
 * fingerprint checked before a single byte of the request (headers carry the bearer token) is sent.
 *
 * Never throws and never rejects: every failure, including a header that cannot be sent and a
 * pin that cannot be written (full disk), is an error ack. The answer is the original agent's
 * (reference §4.5): `status:"error"` whenever `http_response.ok` is false, `ok` is `status < 400`
 * as in `requests`, `content_type` says whether the body parsed as JSON, header names come back
 * as the runtime sent them, `api` may omit its leading `/`, methods are `GET`, `POST`, `PUT` and
 * `DELETE` exactly (anything else is the original's 400 answer).
 *
 * Connections are kept alive per runtime and reused: a burst of commands costs a handful of
 * handshakes, not one each (CPU on both ends; the runtime is a small server beside a real-time
 * task). Memory is not the reason: 10,000 connections opened and closed through node:tls leave
 * no measurable growth after the first few hundred, and the ~33 KiB per call of issue 14 was
 * garbage V8 had not collected yet, not retained memory (a forced GC gave it all back;
 * `benchRunCommands` in scripts/bench_agent.ts says how the growth is measured now).
 *
 * @module
 */
import type { TLSSocket } from "node:tls";
import type { RunCommand } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import { buildBody } from "./run_command_body.ts";
import {
  headerProblem,
  headerRecord,
  type ParsedResponse,
  ResponseParser,
  serializeRequest,
} from "./run_command_http.ts";

/**
 * Node's TLS module, loaded on the first connection: an agent whose cloud sends no run_command
 * never loads it (issue 15, decision 0012).
 */
let tlsModule: Promise<typeof import("node:tls")> | null = null;
function nodeTls(): Promise<typeof import("node:tls")> {
  return tlsModule ??= import("node:tls");
}

/** The runtime API's port (protocol.md §7). */
export const DEFAULT_RUNTIME_PORT = 8443;
/** Methods the original accepts, case-sensitive (reference §4.5). */
export const METHODS = ["GET", "POST", "PUT", "DELETE"] as const;

/** Limits; every value explained where the defaults are set. */
export interface RunCommandLimits {
  /** TCP + TLS handshake. */
  connectTimeoutMs: number;
  /** Whole request, handshake to last body byte. */
  totalTimeoutMs: number;
  /** Largest response body accepted. */
  maxResponseBytes: number;
  /** Ports besides 8443 that may be used. */
  allowedPorts: number[];
}

/** Defaults. */
export const DEFAULT_LIMITS: RunCommandLimits = {
  // The runtime sits on a local bridge: a handshake takes milliseconds; 5 s means it is down.
  connectTimeoutMs: 5_000,
  // Compilation status and uploads can take a while; the cloud gives up on acks after ~60 s.
  totalTimeoutMs: 30_000,
  // Socket.IO servers drop messages over maxHttpBufferSize (1 MB by default): the ack must fit.
  maxResponseBytes: 960 * 1024,
  allowedPorts: [],
};

/** What run_command needs from the registry. */
export interface RunCommandDeps {
  /** The runtime's internal IP and pinned fingerprint; null when not registered. */
  lookup(device: string): { ip: string | null; pin?: string } | null;
  /** Pins a fingerprint on first use. */
  pin(device: string, fingerprint: string): Promise<void>;
  /**
   * Whether a local `unpin` asked to forget this runtime's pin (consumed by the call): the
   * certificate seen next is pinned instead of refused.
   */
  takeUnpin?(device: string): Promise<boolean>;
  /** Limits. */
  limits: RunCommandLimits;
  /** Logger. */
  log: Logger;
  /** Connection pool (the module's own by default). */
  pool?: ConnectionPool;
}

/** `http_response` of the ack. */
export interface HttpResponse {
  status_code: number;
  headers: Record<string, string>;
  ok: boolean;
  body: unknown;
  content_type: "application/json" | "text/plain";
}

/** The original's answer to a transport failure (`requests` raised). */
const failure = (error: string): Record<string, unknown> => ({
  status: "error",
  http_response: {
    status_code: 500,
    headers: {},
    ok: false,
    body: { error },
    content_type: "application/json",
  } satisfies HttpResponse,
});

/** The text of `api:"debug"` (the original's WebRTC/debug bridge is not implemented here). */
export const DEBUG_NOT_SUPPORTED =
  'debug bridge not supported by this agent (run_command with api "debug")';

/** The request target: `api` with its leading slashes folded to one (`/{api.lstrip('/')}`), plus `params`. Pure. */
export function requestTarget(api: string, params?: RunCommand["params"]): string {
  let target = "/" + api.replace(/^\/+/, "");
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) q.append(k, String(v));
  const qs = q.toString();
  if (qs) target += (target.includes("?") ? "&" : "?") + qs;
  // Characters a request line cannot carry are percent-encoded (the contract refuses spaces).
  return target.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

/** Parses the body as the original does: JSON when it parses, else text. Pure. */
export function parseBody(bytes: Uint8Array): { body: unknown; json: boolean } {
  const text = new TextDecoder().decode(bytes);
  try {
    return { body: JSON.parse(text), json: true };
  } catch {
    return { body: text, json: false };
  }
}

/** Turns a parsed response into `http_response`. Pure. */
export function toHttpResponse(r: ParsedResponse): HttpResponse {
  const { body, json } = parseBody(r.body);
  return {
    status_code: r.status,
    headers: headerRecord(r.headers),
    ok: r.status < 400, // requests' Response.ok
    body,
    content_type: json ? "application/json" : "text/plain",
  };
}

/** Runs the command; answers the ack body (never throws, never rejects). */
export async function runCommand(
  deps: RunCommandDeps,
  msg: RunCommand,
): Promise<Record<string, unknown>> {
  try {
    return await run(deps, msg);
  } catch (err) {
    // Defensive: every known failure is answered inside run(); this is a bug, logged loudly.
    const error = err instanceof Error ? err.message : String(err);
    deps.log.error("run_command failed unexpectedly", { device: msg.device_id, error });
    return failure(error);
  }
}

async function run(deps: RunCommandDeps, msg: RunCommand): Promise<Record<string, unknown>> {
  if (msg.api === "debug") {
    return {
      status: "error",
      error: DEBUG_NOT_SUPPORTED,
      debug_response: { type: "debug_error", error: DEBUG_NOT_SUPPORTED },
    };
  }
  if (!(METHODS as readonly string[]).includes(msg.method)) {
    const error = `Unsupported HTTP method: ${msg.method}`;
    return {
      status: "error",
      http_response: {
        status_code: 400,
        headers: {},
        body: { error },
        ok: false,
        content_type: "application/json",
      } satisfies HttpResponse,
    };
  }
  const entry = deps.lookup(msg.device_id);
  if (!entry) return { status: "error", error: `Device not found: ${msg.device_id}` };
  if (!entry.ip) {
    return { status: "error", error: `Device ${msg.device_id} has no internal IP yet` };
  }
  const port = msg.port ?? DEFAULT_RUNTIME_PORT;
  if (port !== DEFAULT_RUNTIME_PORT && !deps.limits.allowedPorts.includes(port)) {
    return { status: "error", error: `Port ${port} is not allowed for run_command (only 8443)` };
  }
  let bytes: Uint8Array;
  try {
    const target = requestTarget(msg.api, msg.params);
    const body = buildBody(msg);
    for (const [k, v] of body.headers) {
      const problem = headerProblem(k, v);
      if (problem) {
        return { status: "error", error: `Invalid field type: headers.${k} (${problem})` };
      }
    }
    bytes = serializeRequest(
      msg.method,
      target,
      `${entry.ip}:${port}`,
      body.headers,
      body.bytes,
      true,
    );
  } catch (err) {
    return { status: "error", error: `Cannot build the request: ${(err as Error).message}` };
  }
  const pool = deps.pool ?? defaultPool;
  try {
    const res = await pool.request({
      device: msg.device_id,
      host: entry.ip,
      port,
      method: msg.method,
      bytes,
      limits: deps.limits,
      trust: (fp) => trust(deps, msg.device_id, entry.pin, fp),
    });
    const http = toHttpResponse(res);
    return { status: http.ok ? "success" : "error", http_response: http };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    deps.log.warn("run_command failed", { device: msg.device_id, api: msg.api, error });
    return failure(error);
  }
}

/** Decides whether a connection whose certificate has fingerprint `fp` may carry the request. */
async function trust(
  deps: RunCommandDeps,
  device: string,
  pinned: string | undefined,
  fp: string,
): Promise<void> {
  let pin = pinned;
  if (pin && pin !== fp && await (deps.takeUnpin?.(device) ?? Promise.resolve(false))) {
    deps.log.warn("Pinned runtime certificate forgotten on request (unpin)", { device, was: pin });
    pin = undefined;
  }
  if (pin && pin !== fp) {
    throw new Error(
      `TLS certificate of runtime ${device} changed (pinned ${pin}, got ${fp}): refusing to ` +
        `send; run "agent unpin ${device}" on the device to trust the new one`,
    );
  }
  if (!pin) {
    try {
      await deps.pin(device, fp);
    } catch (err) {
      throw new Error(
        `Cannot pin the certificate of runtime ${device}: ${(err as Error).message}; ` +
          "refusing to send",
      );
    }
    deps.log.info("Runtime certificate pinned on first use", { device, fingerprint: fp });
  }
}

/** One request for the pool. */
interface PoolRequest {
  device: string;
  host: string;
  port: number;
  method: string;
  bytes: Uint8Array;
  limits: RunCommandLimits;
  /** Resolves when a connection presenting `fp` may be used; rejects to refuse it. */
  trust(fp: string): Promise<void>;
}

/** A kept-alive TLS connection and the request it carries now. */
interface Conn {
  socket: TLSSocket;
  fingerprint: string;
  /** Handlers of the request in flight (null when idle). */
  current: {
    data(chunk: Uint8Array): void;
    end(): void;
    error(err: Error): void;
  } | null;
  idleTimer?: ReturnType<typeof setTimeout>;
  /** Bytes received for the current request. */
  received: number;
}

/**
 * Connections per runtime at once, the rest queue: 6, as browsers allow per host. A PLC runtime is
 * a small server next to a real-time task; a burst of 50 commands must not open 50 handshakes.
 */
export const MAX_CONNS_PER_RUNTIME = 6;
/** Idle connections kept per runtime: all of them, so a burst reuses what the last one opened. */
const MAX_IDLE_PER_RUNTIME = MAX_CONNS_PER_RUNTIME;
/** An idle connection is closed after 30 s: the UI polls every few seconds while open. */
const IDLE_MS = 30_000;

/** Kept-alive connections to runtimes, keyed by `host:port`. */
export class ConnectionPool {
  #idle = new Map<string, Conn[]>();
  /** Requests holding a connection slot, per runtime. */
  #active = new Map<string, number>();
  /** Requests waiting for a slot, per runtime (FIFO). */
  #waiting = new Map<string, (() => void)[]>();

  /** Waits for a connection slot of `key`; rejects at `deadline`. */
  #acquire(key: string, deadline: number): Promise<void> {
    const n = this.#active.get(key) ?? 0;
    if (n < MAX_CONNS_PER_RUNTIME) {
      this.#active.set(key, n + 1);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const queue = this.#waiting.get(key) ?? [];
      const grant = () => {
        clearTimeout(timer);
        resolve(); // the slot is handed over by #releaseSlot: the count stays
      };
      const timer = setTimeout(() => {
        const q = this.#waiting.get(key);
        const i = q?.indexOf(grant) ?? -1;
        if (q && i >= 0) q.splice(i, 1);
        if (q && q.length === 0) this.#waiting.delete(key);
        reject(new Error(`Request to ${key} timed out waiting for a free connection`));
      }, Math.max(0, deadline - Date.now()));
      queue.push(grant);
      this.#waiting.set(key, queue);
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  #releaseSlot(key: string): void {
    const q = this.#waiting.get(key);
    const next = q?.shift();
    if (q && q.length === 0) this.#waiting.delete(key);
    if (next) return next();
    const n = (this.#active.get(key) ?? 1) - 1;
    if (n <= 0) this.#active.delete(key);
    else this.#active.set(key, n);
  }

  /** Idle connections held now (for tests and the bench). */
  idleCount(): number {
    let n = 0;
    for (const l of this.#idle.values()) n += l.length;
    return n;
  }

  /** Closes every idle connection. */
  close(): void {
    for (const list of this.#idle.values()) for (const c of list) this.#drop(c);
    this.#idle.clear();
  }

  /** Sends one request; reuses an idle connection when one is there (retried once if it died). */
  async request(req: PoolRequest): Promise<ParsedResponse> {
    const key = `${req.host}:${req.port}`;
    const deadline = Date.now() + req.limits.totalTimeoutMs;
    await this.#acquire(key, deadline);
    try {
      return await this.#request(key, req, deadline);
    } finally {
      this.#releaseSlot(key);
    }
  }

  async #request(key: string, req: PoolRequest, deadline: number): Promise<ParsedResponse> {
    const reused = this.#take(key);
    if (reused) {
      try {
        // The pin may have changed since (unpin, re-created runtime): checked again.
        await req.trust(reused.fingerprint);
        return await this.#exchange(key, reused, req, deadline);
      } catch (err) {
        // A kept-alive connection the runtime closed meanwhile fails before any byte: retry.
        if (!(err instanceof StaleConnection)) throw err;
      }
    }
    const conn = await this.#connect(req);
    try {
      await req.trust(conn.fingerprint);
    } catch (err) {
      this.#drop(conn);
      throw err;
    }
    return await this.#exchange(key, conn, req, deadline);
  }

  #take(key: string): Conn | null {
    const list = this.#idle.get(key);
    const c = list?.pop() ?? null;
    if (list && list.length === 0) this.#idle.delete(key);
    if (c) clearTimeout(c.idleTimer);
    return c;
  }

  #release(key: string, c: Conn): void {
    const list = this.#idle.get(key) ?? [];
    if (list.length >= MAX_IDLE_PER_RUNTIME || c.socket.destroyed) return this.#drop(c);
    list.push(c);
    this.#idle.set(key, list);
    c.idleTimer = setTimeout(() => this.#forget(key, c), IDLE_MS);
    Deno.unrefTimer(c.idleTimer as unknown as number);
  }

  #forget(key: string, c: Conn): void {
    const list = this.#idle.get(key);
    if (list) {
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#idle.delete(key);
    }
    this.#drop(c);
  }

  #drop(c: Conn): void {
    clearTimeout(c.idleTimer);
    c.current = null;
    c.socket.removeAllListeners();
    c.socket.on("error", () => {}); // a late error of a dropped socket is no one's business
    c.socket.destroy();
  }

  async #connect(req: PoolRequest): Promise<Conn> {
    const tls = await nodeTls();
    return new Promise((resolve, reject) => {
      let socket: TLSSocket;
      try {
        socket = tls.connect({
          host: req.host,
          port: req.port,
          rejectUnauthorized: false, // self-signed: verified by its pinned fingerprint instead
        });
      } catch (err) {
        return reject(
          new Error(`Connection to ${req.host}:${req.port} failed: ${(err as Error).message}`),
        );
      }
      const conn: Conn = { socket, fingerprint: "", current: null, received: 0 };
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.#drop(conn);
        reject(
          new Error(
            `Connection to ${req.host}:${req.port} timed out after ${req.limits.connectTimeoutMs} ms`,
          ),
        );
      }, req.limits.connectTimeoutMs);
      // One set of listeners for the connection's life, routed to the request in flight: no
      // listener is added per request, so none piles up on a reused connection.
      socket.on("data", (d: Uint8Array) => conn.current?.data(d));
      socket.on("end", () => conn.current?.end());
      socket.on("close", () => conn.current?.end());
      socket.on("error", (e: Error) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          this.#drop(conn);
          reject(new Error(`Connection to ${req.host}:${req.port} failed: ${e.message}`));
          return;
        }
        conn.current?.error(e);
      });
      socket.once("secureConnect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        let fp: string | undefined;
        try {
          fp = socket.getPeerCertificate()?.fingerprint256;
        } catch { /* treated as no certificate */ }
        if (!fp) {
          this.#drop(conn);
          return reject(new Error(`Runtime ${req.device} presented no certificate`));
        }
        conn.fingerprint = fp;
        resolve(conn);
      });
    });
  }

  #exchange(key: string, conn: Conn, req: PoolRequest, deadline: number): Promise<ParsedResponse> {
    return new Promise((resolve, reject) => {
      const parser = new ResponseParser(req.method, req.limits.maxResponseBytes);
      conn.received = 0;
      let settled = false;
      const finish = (err: Error | null, res?: ParsedResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.current = null;
        if (err) {
          this.#drop(conn);
          reject(err);
        } else {
          if (res!.reusable) this.#release(key, conn);
          else this.#drop(conn);
          resolve(res!);
        }
      };
      const timer = setTimeout(
        () =>
          finish(new Error(`Request to ${key} timed out after ${req.limits.totalTimeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
      conn.current = {
        data: (d) => {
          conn.received += d.length;
          try {
            const r = parser.push(d);
            if (r) finish(null, r);
          } catch (e) {
            finish(new Error(`Response of ${key}: ${(e as Error).message}`));
          }
        },
        end: () => {
          if (conn.received === 0) {
            return finish(new StaleConnection(`Connection to ${key} closed before a response`));
          }
          try {
            finish(null, { ...parser.end(), reusable: false });
          } catch (e) {
            finish(new Error(`Response of ${key}: ${(e as Error).message}`));
          }
        },
        error: (e) =>
          finish(
            conn.received === 0
              ? new StaleConnection(`Request to ${key} failed: ${e.message}`)
              : new Error(`Request to ${key} failed: ${e.message}`),
          ),
      };
      try {
        conn.socket.write(req.bytes);
      } catch (e) {
        finish(new StaleConnection(`Request to ${key} failed: ${(e as Error).message}`));
      }
    });
  }
}

/** A connection that failed before the first response byte (retried once when reused). */
class StaleConnection extends Error {}

/** The pool of the agent process. */
export const defaultPool: ConnectionPool = new ConnectionPool();
