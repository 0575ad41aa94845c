/**
 * Why a WebSocket could not be opened, in words an operator can act on.
 *
 * Deno's WebSocket tries HTTP/1.1 and, for wss, then HTTP/2; with HTTP/2 off (the session's
 * client: WebSocket upgrades are HTTP/1.1) every failure, DNS, TCP, TLS or HTTP, surfaces as the
 * second step's "HTTP/2 not supported by this client". With HTTP/2 on, TCP and DNS errors come
 * through, but a TLS error against an HTTP/1.1-only server reads "NoApplicationProtocol" (the
 * second step offers only h2), and each failure costs a second connection anyway. So after such
 * a failure the session asks once more, with a plain HTTPS GET of the same endpoint through the
 * same `Deno.HttpClient` (same certificate, roots and TLS set-up, nothing built per call; a
 * `Deno.connectTls` per probe instead parses the root store each time and grew RSS by ~20 MiB
 * over 10,000 probes before it levelled). fetch's error names the failed step ("invalid peer
 * certificate: UnknownIssuer", "tcp connect error: Connection refused", "dns error: ...").
 *
 * @module
 */

/** The message Deno gives for every failed WebSocket opened through an HTTP/1.1-only client. */
export const MASKED_ERROR = "HTTP/2 not supported by this client";

/**
 * The useful part of a fetch error: its cause without the request's address and hyper's
 * layer names. Pure.
 *
 * @example
 * ```ts
 * import { fetchCause } from "./probe.ts";
 * const e = new TypeError("fetch failed", {
 *   cause: new Error("error sending request for url (https://h/x): client error (Connect): dns error: no"),
 * });
 * console.assert(fetchCause(e) === "dns error: no");
 * ```
 */
export function fetchCause(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } };
  const inner = typeof e?.cause?.message === "string" ? e.cause.message : undefined;
  const text = inner ?? (typeof e?.message === "string" ? e.message : String(err));
  return text
    .replace(/^error sending request for url \([^)]*\): /, "")
    .replace(/^client error \([^)]*\): /, "");
}

/**
 * Repeats a failed WebSocket opening as a plain GET; returns the cause in words, or null when
 * the GET failed for no reason it could name. Never throws; gives up after `timeoutMs`.
 */
export async function probeWebSocket(
  wsUrl: string,
  client: Deno.HttpClient,
  timeoutMs: number,
): Promise<string | null> {
  const url = wsUrl.replace(/^ws/, "http");
  // Not AbortSignal.timeout: its timer outlives a quick answer (a refused connection) and would
  // hold the signal for the whole timeout after every failed attempt.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(url, { client, signal: abort.signal });
    await res.body?.cancel();
    return `TLS and HTTP work, yet the WebSocket upgrade failed (a plain GET of ${
      new URL(url).pathname
    } answers HTTP ${res.status})`;
  } catch (err) {
    if (abort.signal.aborted) return `no answer within ${timeoutMs / 1000} s`;
    return fetchCause(err) || null;
  } finally {
    clearTimeout(timer);
  }
}
