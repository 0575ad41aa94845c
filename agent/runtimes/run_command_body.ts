/**
 * Pure building of a `run_command` request body, as the original agent sends it (reference
 * §4.5): JSON by default or when the Content-Type is JSON, URL-encoded form fields (or the raw
 * string) when another Content-Type is given, multipart when files come along (base64 in the
 * message). Falsy `data` (`{}`, `[]`, `""`, `0`, `false`, null) sends no body, as `requests`
 * drops it. Header names keep the case the cloud gave them.
 *
 * @module
 */
import type { RunCommand } from "../../contracts/mod.ts";

/** Headers the caller may not set: they describe the connection or the body we build. */
const HOP_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection"]);

/** Request headers and body bytes (null: no body). */
export interface BuiltBody {
  /** Header names as given (no two equal ignoring case). */
  headers: [string, string][];
  /** Body. */
  bytes: Uint8Array | null;
}

function decodeBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

function fields(data: unknown): [string, string][] {
  if (!data || typeof data !== "object" || Array.isArray(data)) return [];
  return Object.entries(data as Record<string, unknown>).map((
    [k, v],
  ) => [k, typeof v === "string" ? v : JSON.stringify(v) ?? String(v)]);
}

/** Python's truthiness of a JSON value (`requests` drops a falsy `json=`/`data=`). Pure. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

/** Quoted-string content of a multipart parameter: no quote, CR, LF or other control. */
const quote = (s: string) =>
  // deno-lint-ignore no-control-regex -- control characters are what is removed
  s.replaceAll('"', "%22").replace(/[\x00-\x1f\x7f]/g, "").replace(/[^\x00-\xff]/g, "_");
/** A part's Content-Type: printable ASCII only, else the default. */
const partType = (t: string | undefined) =>
  t && /^[\x21-\x7e][\x20-\x7e]*$/.test(t) ? t : "application/octet-stream";

/** Builds headers and body; `boundary` is injectable for tests. */
export function buildBody(
  msg: Pick<RunCommand, "headers" | "data" | "files">,
  boundary = `----edge-orchestrator-${crypto.randomUUID()}`,
): BuiltBody {
  const headers: [string, string][] = [];
  const seen = new Map<string, number>();
  for (const [k, v] of Object.entries(msg.headers ?? {})) {
    const lower = k.toLowerCase();
    if (HOP_HEADERS.has(lower)) continue;
    const at = seen.get(lower);
    if (at === undefined) {
      seen.set(lower, headers.length);
      headers.push([k, v]);
    } else headers[at] = [k, v]; // the later spelling wins, as a dict would
  }
  const get = (name: string) => {
    const at = seen.get(name);
    return at === undefined ? undefined : headers[at]![1];
  };
  const set = (name: string, value: string) => {
    const at = seen.get(name.toLowerCase());
    if (at === undefined) {
      seen.set(name.toLowerCase(), headers.length);
      headers.push([name, value]);
    } else headers[at] = [headers[at]![0], value];
  };
  const enc = new TextEncoder();
  const files = Object.entries(msg.files ?? {}).filter(([, f]) => f.content_base64 !== "");
  if (files.length) {
    const parts: Uint8Array[] = [];
    for (const [k, v] of fields(msg.data)) {
      parts.push(enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`,
      ));
    }
    for (const [field, f] of files) {
      parts.push(enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(field)}"; filename="${
          quote(f.filename || field)
        }"\r\nContent-Type: ${partType(f.content_type)}\r\n\r\n`,
      ));
      parts.push(decodeBase64(f.content_base64), enc.encode("\r\n"));
    }
    parts.push(enc.encode(`--${boundary}--\r\n`));
    set("Content-Type", `multipart/form-data; boundary=${boundary}`);
    return { headers, bytes: concat(parts) };
  }
  if (!truthy(msg.data)) return { headers, bytes: null };
  const type = get("content-type");
  if (type && !/json/i.test(type)) {
    const bytes = typeof msg.data === "string"
      ? enc.encode(msg.data)
      : enc.encode(new URLSearchParams(fields(msg.data)).toString());
    return { headers, bytes };
  }
  if (!type) set("Content-Type", "application/json");
  return { headers, bytes: enc.encode(JSON.stringify(msg.data)) };
}
