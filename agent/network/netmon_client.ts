/**
 * Client of netmon's Unix socket (protocol.md §6): waits for the socket when it is missing,
 * reconnects when netmon restarts, parses each JSON line with the contracts (a bad line is logged
 * and skipped) and hands every event to the cache and to a listener.
 *
 * @module
 */
import { NetmonEvent } from "../../contracts/mod.ts";
import type { Logger } from "../log.ts";
import type { CacheUpdate, InterfaceCache } from "./interface_cache.ts";

/** How the client reaches the socket (injected so tests can use a plain Unix listener). */
export type Connect = (path: string) => Promise<Deno.Conn>;

/** Options of {@linkcode startNetmonClient}. */
export interface NetmonClientOptions {
  /** Socket path (`--netmon-socket`). */
  path: string;
  /** The cache to keep current. */
  cache: InterfaceCache;
  /** Called after each event was applied to the cache. */
  onUpdate?: (update: CacheUpdate) => void | Promise<void>;
  /** Logger. */
  log: Logger;
  /** Stops the client. */
  signal: AbortSignal;
  /** Defaults to `Deno.connect({ transport: "unix", path })`. */
  connect?: Connect;
}

/** Retry delays when the socket is missing or drops: netmon restarts in about a second, so start
 * fast, and cap at 5 s so a re-appearing netmon is picked up quickly without busy-looping. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** A netmon line is a few KiB at most (one interface per line, or a discovery of all). 1 MiB
 * means something is wrong: drop the connection rather than grow without bound. */
const MAX_LINE_BYTES = 1 << 20;

/** Parses one line; returns the event or a reason. Pure. */
export function parseNetmonLine(line: string): { event: NetmonEvent } | { skip: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { skip: `not JSON: ${line.slice(0, 80)}` };
  }
  if (value && typeof value === "object" && (value as { type?: unknown }).type === "reply") {
    return { skip: "reply" };
  }
  const r = NetmonEvent.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { skip: `invalid event at ${issue?.path.join(".") || "(root)"}: ${issue?.message}` };
  }
  return { event: r.data };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Runs until `signal` aborts. Resolves when stopped. */
export async function startNetmonClient(opts: NetmonClientOptions): Promise<void> {
  const connect: Connect = opts.connect ??
    ((path) => Deno.connect({ transport: "unix", path }));
  let delay = RETRY_MIN_MS;
  let warned = false;
  while (!opts.signal.aborted) {
    let conn: Deno.Conn;
    try {
      conn = await connect(opts.path);
    } catch (err) {
      if (!warned) {
        opts.log.warn(`Waiting for netmon at ${opts.path}: ${(err as Error).message}`);
        warned = true;
      }
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      continue;
    }
    opts.log.info(`Connected to netmon at ${opts.path}`);
    warned = false;
    delay = RETRY_MIN_MS;
    const onAbort = () => {
      try {
        conn.close();
      } catch { /* already closed */ }
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      await readLines(conn, opts);
    } catch (err) {
      if (!opts.signal.aborted) opts.log.warn(`netmon connection lost: ${(err as Error).message}`);
    } finally {
      opts.signal.removeEventListener("abort", onAbort);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    if (!opts.signal.aborted) {
      opts.log.warn("netmon closed the connection; reconnecting");
      await sleep(delay, opts.signal);
    }
  }
}

async function readLines(conn: Deno.Conn, opts: NetmonClientOptions): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of conn.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    if (buffer.length > MAX_LINE_BYTES && !buffer.includes("\n")) {
      throw new RangeError(`netmon line longer than ${MAX_LINE_BYTES} bytes`);
    }
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      const parsed = parseNetmonLine(line);
      if ("skip" in parsed) {
        if (parsed.skip !== "reply") opts.log.warn(`Skipped netmon line: ${parsed.skip}`);
        continue;
      }
      const update = opts.cache.apply(parsed.event);
      try {
        await opts.onUpdate?.(update);
      } catch (err) {
        opts.log.error(`netmon update handler failed: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
