/**
 * dockerode's transport (its "modem") over Deno's own HTTP client on the engine's Unix socket,
 * in place of docker-modem on Node's `http` polyfill. dockerode stays the Docker API: it builds
 * every request (path, method, options, the status codes it expects) and hands it to
 * `modem.dial`; this file sends it and answers as docker-modem does. Why: docker-modem loads
 * Node's `http`, `https`, stream polyfills, `readable-stream` and `debug` when the agent starts,
 * about 6 MiB of the idle agent's RSS (decision 0012).
 *
 * What docker-modem does and this one does too (observed in docker-modem 5.0.7, the version
 * dockerode 4.0.9 pins): a path ending in `?` gets the call's options as its query (objects
 * that are not arrays as JSON, arrays as repeated keys) without `abortSignal`/`authconfig`; a
 * POST also sends them (or `_body`) as its JSON body unless that is `{}` (`allowEmpty` sends
 * it anyway); a status the call lists as `true` succeeds with the parsed JSON (or the text), a
 * stream call with the response body; any other status fails with an `Error` whose message is
 * `(HTTP code N) <reason> - <engine message> ` and which carries `statusCode`, `reason` and
 * `json`. What it does not do, since the agent never asks for it: TCP/TLS/SSH hosts, uploads
 * (`file`), attach/exec (`hijack`, `openStdin`), `demuxStream`. Those fail with a clear error.
 *
 * @module
 */

/** One call as dockerode describes it to its modem. */
export interface DialOptions {
  path: string;
  method: string;
  options?: Record<string, unknown>;
  statusCodes: Record<number, boolean | string>;
  isStream?: boolean;
  abortSignal?: AbortSignal;
  headers?: Record<string, string>;
  allowEmpty?: boolean;
  authconfig?: unknown;
  registryconfig?: unknown;
  file?: unknown;
  hijack?: boolean;
  openStdin?: boolean;
}

/** The HTTP request of one call: pure, so it is tested with tables. */
export interface ModemRequest {
  /** Path and query, e.g. `/containers/json?all=true`. */
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Keys of a call's options that are never sent (docker-modem removes them too). */
const NOT_SENT = new Set(["abortSignal", "authconfig"]);

/** A query string as docker-modem builds it (Node's `querystring` rules for the values). */
export function queryString(opts: Record<string, unknown>): string {
  const enc = (v: unknown) =>
    encodeURIComponent(
      typeof v === "string" || typeof v === "boolean" ||
        (typeof v === "number" && Number.isFinite(v)) || typeof v === "bigint"
        ? String(v)
        : "",
    );
  const parts: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    const key = encodeURIComponent(k);
    if (Array.isArray(v)) {
      for (const item of v) parts.push(`${key}=${enc(item)}`);
    } else if (v && typeof v === "object") {
      parts.push(`${key}=${encodeURIComponent(JSON.stringify(v))}`);
    } else {
      parts.push(`${key}=${enc(v)}`);
    }
  }
  return parts.join("&");
}

/** The request of a call; throws a TypeError for what this modem does not do. */
export function buildRequest(o: DialOptions): ModemRequest {
  if (o.file !== undefined || o.hijack || o.openStdin) {
    throw new TypeError(
      `Cannot send ${o.method} ${o.path}: uploads, attach and exec are not supported by the agent's Docker transport`,
    );
  }
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o.options ?? {})) if (!NOT_SENT.has(k)) opts[k] = v;
  let path = o.path;
  if (path.includes("?")) {
    const q = (opts._query ?? opts) as Record<string, unknown>;
    path = Object.keys(opts).length > 0 ? path + queryString(q) : path.slice(0, -1);
  }
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.authconfig !== undefined || o.registryconfig !== undefined) {
    throw new TypeError(
      `Cannot send ${o.method} ${o.path}: registry credentials are not supported`,
    );
  }
  let body: string | undefined;
  if (o.options && o.method === "POST") {
    body = JSON.stringify(opts._body ?? opts);
    if (o.allowEmpty || (body !== "{}" && body !== '""')) {
      headers["Content-Type"] ??= "application/json";
    } else {
      body = undefined;
    }
  }
  return { path, method: o.method, headers, body };
}

/** An engine answer the call did not expect, as docker-modem reports it. */
export class EngineHttpError extends Error {
  /** The HTTP status. */
  readonly statusCode: number;
  /** The call's word for that status (`"no such container"`), if it has one. */
  readonly reason: string | undefined;
  /** The engine's JSON answer (`{ message }`), when it sent JSON. */
  readonly json: unknown;
  /** Creates the error. */
  constructor(statusCode: number, reason: string | undefined, json: unknown, text: string) {
    const cause = json && typeof json === "object"
      ? ((json as { message?: string }).message ?? (json as { error?: string }).error ?? text)
      : text;
    super(`(HTTP code ${statusCode}) ${reason ?? "unexpected"} - ${cause} `);
    this.name = "EngineHttpError";
    this.statusCode = statusCode;
    this.reason = reason;
    this.json = json;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Splits a stream of newline-separated JSON objects: `onObject` gets each parsed line, `onBad`
 * each line that is not JSON (the following lines still count). Feed it text chunks.
 */
export function ndjsonSplitter(
  onObject: (o: unknown) => void,
  onBad: (line: string) => void = () => {},
): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        onBad(line);
        continue;
      }
      onObject(obj);
    }
  };
}

/**
 * Reads a response body as text until it ends, `signal` aborts (then it resolves: the reader is
 * cancelled, which closes the connection) or it breaks (then it rejects).
 */
export async function readText(
  body: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const stop = () => void reader.cancel().catch(() => {});
  if (signal?.aborted) return stop();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.decode(value, { stream: true }));
    }
    onText(decoder.decode());
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener("abort", stop);
    reader.releaseLock();
  }
}

/**
 * Reads a progress stream (a pull's) to its end: `onProgress` per JSON line, then
 * `onFinished(err, all lines)`; a broken stream, a line that is not JSON or `signal`
 * aborting (which also closes the stream) is `err`.
 */
export function followProgress(
  stream: ReadableStream<Uint8Array>,
  onFinished: (err: unknown, output: unknown[]) => void,
  onProgress?: (o: unknown) => void,
  signal?: AbortSignal,
): void {
  const output: unknown[] = [];
  let bad: string | null = null;
  const push = ndjsonSplitter((obj) => {
    output.push(obj);
    onProgress?.(obj);
  }, (line) => bad ??= line);
  readText(stream, push, signal).then(
    () => {
      push("\n");
      onFinished(
        signal?.aborted
          ? new Error("aborted")
          : bad === null
          ? null
          : new SyntaxError(`Not a progress line: ${bad}`),
        output,
      );
    },
    (err) => onFinished(err, output),
  );
}

/** dockerode's modem over Deno's HTTP client on a Unix socket. */
export class FetchModem {
  /** dockerode sets the promise library it uses here. */
  Promise: PromiseConstructor = Promise;
  readonly #client: Deno.HttpClient;
  readonly #socketPath: string;

  /** A modem for the engine listening on `socketPath`. */
  constructor(socketPath: string) {
    this.#socketPath = socketPath;
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  }

  /** Sends one call; `callback(err, data)` as docker-modem's (data: JSON, text or a body stream). */
  dial(o: DialOptions, callback: (err: unknown, data: unknown) => void): void {
    this.#dial(o).then((data) => callback(null, data), (err) => callback(err, null));
  }

  async #dial(o: DialOptions): Promise<unknown> {
    const req = buildRequest(o);
    let res: Response;
    try {
      // The host name is a placeholder: the client's proxy is the Unix socket.
      res = await fetch(`http://docker${req.path}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        client: this.#client,
        signal: o.abortSignal,
      });
    } catch (err) {
      if (o.abortSignal?.aborted) throw err;
      const e = err as Error & { cause?: Error };
      // "connect ENOENT <socket>" is what docker-modem said: the words errors.ts recognises.
      const detail = e.cause?.message ?? e.message;
      const code = /os error 2\b/.test(detail)
        ? "ENOENT"
        : /os error 111\b/.test(detail)
        ? "ECONNREFUSED"
        : /os error (104|32)\b|connection closed/i.test(detail)
        ? "ECONNRESET"
        : "";
      throw new Error(
        code ? `connect ${code} ${this.#socketPath} (${detail})` : detail,
        { cause: err },
      );
    }
    const expected = o.statusCodes[res.status] === true;
    if (expected && o.isStream) return res.body;
    const text = await res.text();
    const json = parseJson(text);
    if (!expected) {
      const reason = o.statusCodes[res.status];
      throw new EngineHttpError(
        res.status,
        typeof reason === "string" ? reason : undefined,
        json,
        text,
      );
    }
    return json ?? text;
  }

  /** Not used by the agent (no attach, no logs). */
  demuxStream(): never {
    throw new TypeError("demuxStream is not supported by the agent's Docker transport");
  }
}
