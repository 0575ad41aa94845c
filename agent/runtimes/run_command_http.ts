/**
 * A minimal HTTP/1.1 client codec for `run_command`, pure (bytes in, bytes or a parsed response
 * out). Why our own and not node:http: under Deno, `https.request` throws synchronously on a bad
 * header (the thrown error escaped an async listener and ended the agent), keeps ~20 KiB per call
 * that is never freed, and lower-cases response header names, while the original agent returns
 * them as the runtime sent them (reference §4.5). HTTP/1.1 framing is small: Content-Length,
 * chunked, or read-until-close; the request carries only headers the contract already checked.
 *
 * @module
 */

/** RFC 7230 §3.2.6 token: a header name. */
export const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value: HTAB, visible ASCII, space and obs-text (U+0080-U+00FF); no CR, LF or NUL. */
export const FIELD_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Why a header cannot be sent, or null. Pure. */
export function headerProblem(name: string, value: string): string | null {
  if (!TOKEN_RE.test(name)) return `header name ${JSON.stringify(name)} is not an RFC 7230 token`;
  if (!FIELD_VALUE_RE.test(value)) {
    return `header ${name}: value must be printable (no CR, LF or control characters, ` +
      "nothing above U+00FF)";
  }
  return null;
}

/** Encodes a string whose characters are all <= U+00FF as Latin-1 bytes. */
function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The request head and body as bytes. Throws a TypeError naming the header when one is not
 * sendable (the caller turns it into an error ack; the contract refuses them first).
 */
export function serializeRequest(
  method: string,
  target: string,
  host: string,
  headers: [string, string][],
  body: Uint8Array | null,
  keepAlive: boolean,
): Uint8Array {
  if (!TOKEN_RE.test(method)) {
    throw new TypeError(`method ${JSON.stringify(method)} is not a token`);
  }
  if (!/^\/[\x21-\x7e]*$/.test(target)) {
    throw new TypeError(`request target ${JSON.stringify(target)} is not a printable path`);
  }
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of headers) {
    const problem = headerProblem(k, v);
    if (problem) throw new TypeError(problem);
    head += `${k}: ${v}\r\n`;
  }
  if (body !== null || method === "POST" || method === "PUT") {
    head += `Content-Length: ${body?.length ?? 0}\r\n`;
  }
  head += `Connection: ${keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
  const h = latin1(head);
  if (!body || body.length === 0) return h;
  const out = new Uint8Array(h.length + body.length);
  out.set(h, 0);
  out.set(body, h.length);
  return out;
}

/** A parsed response. */
export interface ParsedResponse {
  /** Status code. */
  status: number;
  /** Headers in the order and case the server sent them (duplicates kept). */
  headers: [string, string][];
  /** Body bytes. */
  body: Uint8Array;
  /** Whether the connection may carry another request. */
  reusable: boolean;
}

/** A framing problem: the response cannot be trusted (and the connection is dropped). */
export class HttpParseError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HttpParseError";
  }
}

/** Longest response head accepted: 64 KiB, far above what any API server sends. */
const MAX_HEAD = 64 * 1024;

const CRLFCRLF = [13, 10, 13, 10];

function indexOfSeq(buf: Uint8Array, seq: number[], from: number): number {
  outer: for (let i = from; i <= buf.length - seq.length; i++) {
    for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Incremental response parser: `push` bytes as they come, `end` when the peer closed. Each
 * returns the response once complete, else null. `maxBody` bounds the body (throws beyond).
 */
export class ResponseParser {
  #buf = new Uint8Array(0);
  #head: { status: number; headers: [string, string][]; keepAlive: boolean } | null = null;
  #mode: "length" | "chunked" | "close" | "none" = "none";
  #length = 0;
  #done: ParsedResponse | null = null;

  constructor(readonly method: string, readonly maxBody: number) {}

  /** Feeds bytes; returns the response when complete. */
  push(chunk: Uint8Array): ParsedResponse | null {
    if (this.#done) return this.#done;
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf, 0);
    merged.set(chunk, this.#buf.length);
    this.#buf = merged;
    return this.#step(false);
  }

  /** The peer closed; returns the response when the framing allows it, else throws. */
  end(): ParsedResponse {
    if (this.#done) return this.#done;
    const r = this.#step(true);
    if (r) return r;
    throw new HttpParseError(
      this.#head
        ? "connection closed before the end of the body"
        : "connection closed before a response",
    );
  }

  #step(closed: boolean): ParsedResponse | null {
    if (!this.#head) {
      const end = indexOfSeq(this.#buf, CRLFCRLF, 0);
      if (end < 0) {
        if (this.#buf.length > MAX_HEAD) throw new HttpParseError("response head too large");
        return null;
      }
      this.#parseHead(new TextDecoder("latin1").decode(this.#buf.subarray(0, end)));
      this.#buf = this.#buf.slice(end + 4);
    }
    const h = this.#head!;
    switch (this.#mode) {
      case "none":
        return this.#finish(new Uint8Array(0), h.keepAlive);
      case "length":
        if (this.#length > this.maxBody) throw this.#tooBig();
        if (this.#buf.length >= this.#length) {
          return this.#finish(this.#buf.slice(0, this.#length), h.keepAlive);
        }
        return null;
      case "close":
        if (this.#buf.length > this.maxBody) throw this.#tooBig();
        return closed ? this.#finish(this.#buf, false) : null;
      case "chunked":
        return this.#chunked(h.keepAlive);
    }
  }

  #chunked(keepAlive: boolean): ParsedResponse | null {
    const parts: Uint8Array[] = [];
    let size = 0;
    let at = 0;
    for (;;) {
      const eol = indexOfSeq(this.#buf, [13, 10], at);
      if (eol < 0) return null;
      const line = new TextDecoder("latin1").decode(this.#buf.subarray(at, eol));
      const m = /^([0-9A-Fa-f]{1,8})(;.*)?$/.exec(line.trim());
      if (!m) throw new HttpParseError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
      const n = parseInt(m[1]!, 16);
      if (n === 0) {
        // Trailer lines (ignored) end with an empty line.
        let p = eol + 2;
        for (;;) {
          const e = indexOfSeq(this.#buf, [13, 10], p);
          if (e < 0) return null;
          if (e === p) return this.#finishParts(parts, size, keepAlive);
          p = e + 2;
        }
      }
      size += n;
      if (size > this.maxBody) throw this.#tooBig();
      if (this.#buf.length < eol + 2 + n + 2) return null;
      parts.push(this.#buf.subarray(eol + 2, eol + 2 + n));
      at = eol + 2 + n + 2;
    }
  }

  #finishParts(parts: Uint8Array[], size: number, keepAlive: boolean): ParsedResponse {
    const body = new Uint8Array(size);
    let at = 0;
    for (const p of parts) (body.set(p, at), at += p.length);
    return this.#finish(body, keepAlive);
  }

  #finish(body: Uint8Array, reusable: boolean): ParsedResponse {
    const h = this.#head!;
    this.#done = { status: h.status, headers: h.headers, body, reusable };
    this.#buf = new Uint8Array(0);
    return this.#done;
  }

  #tooBig(): HttpParseError {
    return new HttpParseError(`response body exceeds ${this.maxBody} bytes`);
  }

  #parseHead(text: string): void {
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (!m) {
      throw new HttpParseError(`bad status line ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`);
    }
    const status = Number(m[2]);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new HttpParseError(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
      }
      headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    const get = (name: string) =>
      headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v.toLowerCase());
    const connection = get("connection").join(",");
    const keepAlive = m[1] === "1"
      ? !/\bclose\b/.test(connection)
      : /\bkeep-alive\b/.test(connection);
    const te = get("transfer-encoding").join(",");
    const lengths = get("content-length");
    this.#head = { status, headers, keepAlive };
    if (
      this.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)
    ) {
      this.#mode = "none";
    } else if (te !== "") {
      if (!/(^|,)\s*chunked\s*$/.test(te)) {
        this.#mode = "close";
        this.#head.keepAlive = false;
      } else this.#mode = "chunked";
    } else if (lengths.length) {
      const uniq = new Set(lengths.flatMap((l) => l.split(",").map((x) => x.trim())));
      const [only] = [...uniq];
      if (uniq.size !== 1 || !/^\d{1,15}$/.test(only!)) {
        throw new HttpParseError(`bad Content-Length ${JSON.stringify(lengths.join(","))}`);
      }
      this.#mode = "length";
      this.#length = Number(only);
    } else {
      this.#mode = "close";
      this.#head.keepAlive = false;
    }
  }
}

/**
 * Response headers as the original agent returns them (`dict(resp.headers)` of `requests`): the
 * name in the case the server first sent it, repeated headers joined with ", ". Pure.
 */
export function headerRecord(headers: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  const byLower = new Map<string, string>();
  for (const [k, v] of headers) {
    const first = byLower.get(k.toLowerCase());
    if (first === undefined) {
      byLower.set(k.toLowerCase(), k);
      out[k] = v;
    } else out[first] = `${out[first]}, ${v}`;
  }
  return out;
}
