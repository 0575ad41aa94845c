/**
 * Client of netmon's Unix socket (protocol.md §6): waits for the socket when it is missing,
 * reconnects when netmon restarts, parses each JSON line with the contracts (a bad line is logged
 * and skipped) and hands every event to the cache and to a listener.
 *
 * It reads both netmons (original-agent-reference.md §9): ours, and the original Python one that
 * may still run during an upgrade. The original sends no `mac_address`, extra event types
 * (`device_discovery`, `device_change`, `dhcp_update`) and untyped replies `{success, ...}`; its
 * interfaces fill the cache like ours, the rest is ignored with one log line per kind.
 *
 * @module
 */
import {
  NetmonEvent,
  NetmonOriginalEvent,
  NetmonPlainReply,
  NetmonReply,
} from "../../contracts/mod.ts";
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

/** One line from netmon, classified. */
export type NetmonLine =
  /** An interface event: applied to the cache. */
  | { event: NetmonEvent }
  /** A command reply: typed (ours, `type: "reply"`) or plain (the original's, no `type`). */
  | { reply: NetmonReply | NetmonPlainReply; shape: "typed" | "plain" }
  /** An event this agent does not use: the original's extras, or a type nobody knows. */
  | { ignore: string; original: boolean }
  /** Not readable. */
  | { skip: string };

/** The event types this agent reads; any other `type` is ignored, not rejected. */
const USED_TYPES = new Set(["network_discovery", "network_change"]);

/** Parses one line. Pure. */
export function parseNetmonLine(line: string): NetmonLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { skip: `not JSON: ${line.slice(0, 80)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { skip: `not an object: ${line.slice(0, 80)}` };
  }
  const type = (value as { type?: unknown }).type;
  if (type === "reply") {
    const r = NetmonReply.safeParse(value);
    return r.success ? { reply: r.data, shape: "typed" } : { skip: `invalid reply: ${issue(r)}` };
  }
  if (type === undefined) {
    // The original netmon routes replies by the absence of `type` (reference §9.1).
    const r = NetmonPlainReply.safeParse(value);
    return r.success ? { reply: r.data, shape: "plain" } : { skip: "no type and no success" };
  }
  if (typeof type === "string" && !USED_TYPES.has(type)) {
    return { ignore: type, original: NetmonOriginalEvent.safeParse(value).success };
  }
  const r = NetmonEvent.safeParse(value);
  if (!r.success) return { skip: `invalid event at ${issue(r)}` };
  return { event: r.data };
}

function issue(r: { error: { issues: { path: PropertyKey[]; message: string }[] } }): string {
  const first = r.error.issues[0];
  return `${first?.path.map(String).join(".") || "(root)"}: ${first?.message}`;
}

/** Whether an event lists interfaces without `mac_address` (the original netmon's). Pure. */
export function lacksMac(event: NetmonEvent): boolean {
  const list = event.type === "network_discovery"
    ? event.data.interfaces
    : "status" in event.data
    ? []
    : [event.data];
  return list.some((i) => i.mac_address === undefined);
}

/**
 * Says things about the netmon on the other end once per kind, not once per line: the original
 * netmon repeats its extra events and re-sends every interface every 30 s.
 */
export class OnceLog {
  #said = new Set<string>();
  constructor(readonly log: Logger) {}

  /** Logs `message` at `level` the first time `key` is seen; returns whether it logged. */
  say(key: string, level: "info" | "warn", message: string): boolean {
    if (this.#said.has(key)) return false;
    this.#said.add(key);
    this.log[level](`${message} (logged once)`);
    return true;
  }

  /** What one classified line deserves in the log (nothing for events without news). */
  line(parsed: NetmonLine): void {
    if ("event" in parsed) {
      if (lacksMac(parsed.event)) {
        this.say(
          "no-mac",
          "info",
          "netmon sends interfaces without mac_address, as the original (Python) netmon does: " +
            "host interface MACs come from the system instead",
        );
      }
    } else if ("ignore" in parsed) {
      this.say(
        `type:${parsed.ignore}`,
        parsed.original ? "info" : "warn",
        parsed.original
          ? `netmon sends "${parsed.ignore}" events (the original netmon's); this agent does ` +
            "not use them: ignored"
          : `netmon sent an event of unknown type "${parsed.ignore}": ignored`,
      );
    } else if ("reply" in parsed) {
      this.say(
        `reply:${parsed.shape}`,
        "info",
        `netmon sent a ${parsed.shape === "plain" ? "reply in the original's shape" : "reply"} ` +
          "while no command was pending: ignored",
      );
    }
  }
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
  const once = new OnceLog(opts.log);
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
      await readLines(conn, opts, once);
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

async function readLines(
  conn: Deno.Conn,
  opts: NetmonClientOptions,
  once: OnceLog,
): Promise<void> {
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
      once.line(parsed);
      if ("skip" in parsed) {
        opts.log.warn(`Skipped netmon line: ${parsed.skip}`);
        continue;
      }
      if (!("event" in parsed)) continue;
      const update = opts.cache.apply(parsed.event);
      try {
        await opts.onUpdate?.(update);
      } catch (err) {
        opts.log.error(`netmon update handler failed: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
