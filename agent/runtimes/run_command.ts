/**
 * `run_command`: one HTTPS request to a registered runtime's API, and only there: the URL is
 * built from the runtime's internal IP, the port is 8443 unless an explicit allow-list names
 * another. The runtime's certificate is self-signed, so it is pinned on first use by its SHA-256
 * fingerprint (docs/decisions/0005-run-command-tofu.md): the TLS handshake is finished and the
 * fingerprint checked before a single byte of the request (headers carry the bearer token) is sent.
 *
 * @module
 */
import https from "node:https";
import tls from "node:tls";
import type { RunCommand } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import { buildBody } from "./run_command_body.ts";

/** The runtime API's port (protocol.md §7). */
export const DEFAULT_RUNTIME_PORT = 8443;

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
  /** Limits. */
  limits: RunCommandLimits;
  /** Logger. */
  log: Logger;
}

/** `http_response` of the ack. */
interface HttpResponse {
  status_code: number;
  headers: Record<string, string>;
  ok: boolean;
  body: unknown;
  content_type: string | null;
}

const failure = (error: string): Record<string, unknown> => ({
  status: "error",
  error,
  http_response: {
    status_code: 500,
    headers: {},
    ok: false,
    body: { error },
    content_type: null,
  } satisfies HttpResponse,
});

/** Runs the command; answers the ack body (never throws). */
export async function runCommand(
  deps: RunCommandDeps,
  msg: RunCommand,
): Promise<Record<string, unknown>> {
  const entry = deps.lookup(msg.device_id);
  if (!entry) return { status: "error", error: `Device not found: ${msg.device_id}` };
  if (!entry.ip) {
    return { status: "error", error: `Device ${msg.device_id} has no internal IP yet` };
  }
  const port = msg.port ?? DEFAULT_RUNTIME_PORT;
  if (port !== DEFAULT_RUNTIME_PORT && !deps.limits.allowedPorts.includes(port)) {
    return { status: "error", error: `Port ${port} is not allowed for run_command (only 8443)` };
  }
  let url: URL;
  try {
    url = new URL(`https://${entry.ip}:${port}${msg.api}`);
  } catch {
    return { status: "error", error: `Invalid api path: ${msg.api}` };
  }
  if (url.hostname !== entry.ip || Number(url.port || 443) !== port || !msg.api.startsWith("/")) {
    return { status: "error", error: `Refused: ${msg.api} does not stay on the runtime` };
  }
  for (const [k, v] of Object.entries(msg.params ?? {})) url.searchParams.append(k, String(v));
  const body = buildBody(msg);
  try {
    const http = await request(deps, msg.device_id, entry, url, msg.method, body);
    return { status: "success", http_response: http };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    deps.log.warn("run_command failed", { device: msg.device_id, api: msg.api, error });
    return failure(error);
  }
}

function parseBody(bytes: Uint8Array, contentType: string | null): unknown {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return contentType?.includes("json") && text === "" ? null : text;
  }
}

function request(
  deps: RunCommandDeps,
  device: string,
  entry: { ip: string | null; pin?: string },
  url: URL,
  method: string,
  body: { headers: Record<string, string>; bytes: Uint8Array | null },
): Promise<HttpResponse> {
  const { connectTimeoutMs, totalTimeoutMs, maxResponseBytes } = deps.limits;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: Error | null, value?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const socket = tls.connect({
      host: entry.ip!,
      port: Number(url.port),
      rejectUnauthorized: false, // self-signed: verified below by its pinned fingerprint
    });
    const connectTimer = setTimeout(
      () => done(new Error(`Connection to ${url.host} timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    const totalTimer = setTimeout(
      () => done(new Error(`Request to ${url.host} timed out after ${totalTimeoutMs} ms`)),
      totalTimeoutMs,
    );
    socket.on(
      "error",
      (e: Error) => done(new Error(`Connection to ${url.host} failed: ${e.message}`)),
    );
    socket.once("secureConnect", async () => {
      clearTimeout(connectTimer);
      const fp = socket.getPeerCertificate()?.fingerprint256;
      if (!fp) return done(new Error(`Runtime ${device} presented no certificate`));
      if (entry.pin && entry.pin !== fp) {
        return done(
          new Error(
            `TLS certificate of runtime ${device} changed (pinned ${entry.pin}, got ${fp}): ` +
              "refusing to send; delete and re-create the runtime to trust a new one",
          ),
        );
      }
      if (!entry.pin) {
        await deps.pin(device, fp);
        deps.log.info("Runtime certificate pinned on first use", { device, fingerprint: fp });
      }
      const req = https.request({
        method,
        host: entry.ip!,
        port: Number(url.port),
        path: url.pathname + url.search,
        headers: { ...body.headers, host: url.host },
        createConnection: () => socket,
      } as https.RequestOptions, (res) => {
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (c: Uint8Array) => {
          size += c.length;
          if (size > maxResponseBytes) {
            return done(new Error(`Response of ${url.pathname} exceeds ${maxResponseBytes} bytes`));
          }
          chunks.push(c);
        });
        res.on("error", (e: Error) => done(e));
        res.on("end", () => {
          const all = new Uint8Array(size);
          let at = 0;
          for (const c of chunks) (all.set(c, at), at += c.length);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
          }
          const contentType = headers["content-type"] ?? null;
          const code = res.statusCode ?? 0;
          done(null, {
            status_code: code,
            headers,
            ok: code >= 200 && code < 300,
            body: parseBody(all, contentType),
            content_type: contentType,
          });
        });
      });
      req.on("error", (e: Error) => done(new Error(`Request to ${url.host} failed: ${e.message}`)));
      req.end(body.bytes ?? undefined);
    });
  });
}
