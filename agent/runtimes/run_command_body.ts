/**
 * Pure building of a `run_command` request body: JSON by default, URL-encoded form when a
 * non-JSON Content-Type is given, multipart when files come along (base64 in the message).
 *
 * @module
 */
import type { RunCommand } from "../../contracts/mod.ts";

/** Headers the caller may not set: they describe the connection or the body we build. */
const HOP_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection"]);

/** Request headers and body bytes (null: no body). */
export interface BuiltBody {
  /** Lower-case header names. */
  headers: Record<string, string>;
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
  ) => [k, typeof v === "string" ? v : JSON.stringify(v)]);
}

const quote = (s: string) => s.replaceAll('"', "%22").replaceAll("\r", "").replaceAll("\n", "");

/** Builds headers and body; `boundary` is injectable for tests. */
export function buildBody(
  msg: Pick<RunCommand, "headers" | "data" | "files">,
  boundary = `----edge-orchestrator-${crypto.randomUUID()}`,
): BuiltBody {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers ?? {})) {
    if (!HOP_HEADERS.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
  }
  const enc = new TextEncoder();
  if (msg.files && Object.keys(msg.files).length) {
    const parts: Uint8Array[] = [];
    for (const [k, v] of fields(msg.data)) {
      parts.push(enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`,
      ));
    }
    for (const [field, f] of Object.entries(msg.files)) {
      parts.push(enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(field)}"; filename="${
          quote(f.filename)
        }"\r\nContent-Type: ${f.content_type ?? "application/octet-stream"}\r\n\r\n`,
      ));
      parts.push(decodeBase64(f.content_base64), enc.encode("\r\n"));
    }
    parts.push(enc.encode(`--${boundary}--\r\n`));
    headers["content-type"] = `multipart/form-data; boundary=${boundary}`;
    return { headers, bytes: concat(parts) };
  }
  if (msg.data === undefined || msg.data === null) return { headers, bytes: null };
  const type = headers["content-type"];
  if (type && !type.includes("json")) {
    const form = new URLSearchParams(fields(msg.data));
    const bytes = typeof msg.data === "string" ? enc.encode(msg.data) : enc.encode(form.toString());
    return { headers, bytes };
  }
  headers["content-type"] = type ?? "application/json";
  return { headers, bytes: enc.encode(JSON.stringify(msg.data)) };
}
