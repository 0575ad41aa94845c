/**
 * Client of netmon's Unix socket (protocol.md §6): waits for the socket when it is missing,
 * reconnects when netmon restarts, parses each JSON line with the contracts (a bad line is logged
 * and skipped) and hands every event to the cache and to a listener.
 *
 * Waiting costs next to nothing (issue 15: an idle agent's CPU is its number of wake-ups, about
 * 5 ms each on the test VM). The first retries after a failure are fast (0.25, 0.5, 1, 2 s: a
 * restarting netmon is back within about a second); after them the client stops polling and
 * waits on the socket's directory (`Deno.watchFs`) for an event that names the socket file
 * (netmon binding its socket creates it), with a 30 s timer as the safety net for what a watch
 * cannot see ({@linkcode WATCH_FALLBACK_MS} lists the cases). Before, a missing netmon cost one
 * wake-up and one thrown error every 5 s, forever.
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

/** Why {@linkcode SocketWatch.changed} returned. */
export type WakeReason =
  /** An event named the socket file (created, renamed into place, its mode changed), the
   * kernel dropped events (a rescan) or the directory itself went away (the next wait re-arms
   * the watch): worth a connect attempt now. */
  | "event"
  /** The watch was (re)armed by this call: the socket may have appeared before it was, so try
   * once now; the next call waits for events. */
  | "armed"
  /** `ms` passed (no watch possible, or nothing happened). */
  | "timeout"
  /** The signal aborted. */
  | "aborted";

/** Waits for the socket path to change; one per waiting period, closed when it ends. */
export interface SocketWatch {
  /** Resolves on the first of: an event naming the socket file, `ms` passed, `signal` aborted. */
  changed(ms: number, signal: AbortSignal): Promise<WakeReason>;
  /** Stops watching; a wait in progress ends as `"aborted"`. Idempotent. */
  close(): Promise<void>;
}

/** Makes the watch of one socket path (injected so unit tests need no filesystem). */
export type WatchSocket = (path: string, log: Logger) => SocketWatch;

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
  /** Defaults to {@linkcode watchSocketDir}. */
  watchSocket?: WatchSocket;
  /** The fast retries' pause; defaults to a timer that the signal ends at once (tests record the
   * delays instead of waiting them out). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Fast retries when the socket is missing or drops: netmon restarts in about a second (a
 * container restart in a few), so the attempts 0.25, 0.75, 1.75 and 3.75 s after the failure
 * (each pause doubles from 250 ms up to 2 s) find it again without a watch. Four wake-ups, once
 * per outage, not per 5 s. */
export const RETRY_MIN_MS = 250;
/** The last fast pause; after it the client waits on the directory. */
export const RETRY_FAST_MAX_MS = 2_000;
/**
 * The watch's safety net: with nothing seen for this long the client tries to connect anyway.
 * The watch sees every way a listening socket can appear in a local directory: a Unix socket's
 * path can only be made by bind(2) (a "create" event) or moved in (a "rename"), and a socket file
 * whose listener is gone can never listen again, so a new netmon always removes it and binds
 * anew ("remove", then "create"). The timer is for what the watch cannot see:
 * - the directory does not exist yet (the state volume not made yet) or cannot be watched
 *   (`watchFs` fails, e.g. no inotify instances or watches left): then the timer is all there
 *   is, and every expiry tries to arm the watch again;
 * - the watch went stale without an event saying so: a volume mounted over the directory, or a
 *   removal or move the watch did not report (the watch stays on the old inode and sees nothing;
 *   each expiry compares the directory's identity with the watched one and re-arms; a removal
 *   it does report re-arms at once);
 * - the socket reaches us another way than through a directory entry changing here: a bind mount
 *   of a socket file onto the path, or a path through a symlink into another directory;
 * - a connect that failed for another reason than a missing socket or a gone listener (e.g. a
 *   full backlog) while nothing changes in the directory.
 * 30 s: netmon's own periodic re-send is 30 s, so an agent that missed a netmon coming back is
 * not later than a netmon update would be, and one wake-up per 30 s is a sixth of the old 5 s
 * cap's cost for the case that is not supposed to happen.
 */
export const WATCH_FALLBACK_MS = 30_000;
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
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The directory and the file name of `path` (`"."` for a bare name). Pure. */
export function splitSocketPath(path: string): { dir: string; name: string } {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return { dir: ".", name: trimmed };
  return { dir: slash === 0 ? "/" : trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
}

/**
 * Whether a watch event on the socket's directory is worth a connect attempt. Pure.
 *
 * Yes for an event naming the socket file, except its removal (a netmon going away, or one
 * clearing its stale file before it binds: the "create" follows) and reads ("access"); yes for an
 * event without paths or flagged `rescan` (the kernel's queue overflowed: something may have been
 * missed). No for every other file: the directory is the agent's state directory, where the
 * health file is rewritten every heartbeat.
 */
export function namesSocket(event: Deno.FsEvent, name: string): boolean {
  if (event.flag === "rescan" || event.paths.length === 0) return true;
  if (event.kind === "remove" || event.kind === "access") return false;
  return event.paths.some((p) => p === name || p.endsWith(`/${name}`));
}

/**
 * The real {@linkcode SocketWatch}: `Deno.watchFs` on the socket's directory, not recursive. The
 * watch is armed on the first {@linkcode SocketWatch.changed} and kept until
 * {@linkcode SocketWatch.close}, so no event falls between two waits. When it cannot be armed
 * (no directory, no inotify left) each wait is the plain timer and the next one tries again.
 */
export function watchSocketDir(path: string, log: Logger): SocketWatch {
  const { dir, name } = splitSocketPath(path);
  let watcher: Deno.FsWatcher | undefined;
  let events: AsyncIterator<Deno.FsEvent> | undefined;
  /** The pending read of the next event; kept across waits so an event is never dropped. */
  let next: Promise<IteratorResult<Deno.FsEvent> | Error> | undefined;
  /** The watched directory's identity, to notice a removed or replaced directory. */
  let watchedInode: string | undefined;
  let lastArmError = "";
  let closed = false;
  /** Ends the wait in progress (for `close()`). */
  let endWait: ((why: WakeReason) => void) | undefined;

  /** The directory as the watch's events name it (absolute), to tell its own removal. */
  let dirPath = dir;
  /** Device, inode and birth time: a directory removed and made again at once often gets the
   * same inode number back, not the same birth time. */
  const inode = (): string | undefined => {
    try {
      const st = Deno.statSync(dir);
      return st.isDirectory ? `${st.dev}:${st.ino}:${st.birthtime?.getTime() ?? ""}` : undefined;
    } catch {
      return undefined;
    }
  };
  /** Every read left pending by a closed watch: closing ends it, and `close()` waits for
   * that so no op outlives the watch. */
  let drained: Promise<unknown> = Promise.resolve();
  const disarm = (): Promise<unknown> => {
    const w = watcher;
    drained = Promise.all([drained, next]);
    watcher = undefined;
    events = undefined;
    next = undefined;
    watchedInode = undefined;
    try {
      w?.close();
    } catch { /* already closed */ }
    return drained;
  };
  const arm = (): boolean => {
    try {
      // The directory must be there before and after: Deno.watchFs (2.9) was seen to succeed
      // on a directory removed a moment before, right after the watch of it was closed.
      const before = inode();
      if (!before) throw new Deno.errors.NotFound(`no directory ${dir}`);
      const w = Deno.watchFs(dir, { recursive: false });
      if (inode() !== before) {
        w.close();
        throw new Deno.errors.NotFound(`${dir} changed while the watch was armed`);
      }
      watcher = w;
      events = w[Symbol.asyncIterator]();
      watchedInode = before;
      dirPath = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`.replace(/\/\.$/, "");
      if (lastArmError) log.info(`Watching ${dir} for netmon's socket again`);
      lastArmError = "";
      return true;
    } catch (err) {
      const message = `${(err as Error).name}: ${(err as Error).message}`;
      if (message !== lastArmError) {
        log.warn(
          `Cannot watch ${dir} for netmon's socket (${message}): trying every ` +
            `${WATCH_FALLBACK_MS / 1000} s`,
        );
        lastArmError = message;
      }
      return false;
    }
  };
  /** Reads events until one is worth a connect attempt. `undefined` when `done()` turned true
   * first (the event, if one came, stays in `next` for the next wait) or the watch ended. */
  const pump = async (done: () => boolean): Promise<"event" | undefined> => {
    while (events && !done()) {
      const pending = next ??= events.next().catch((err: Error) => err);
      const result = await pending;
      if (done() || pending !== next) return undefined;
      next = undefined;
      if (result instanceof Error || result.done) {
        // The watch ended by itself: the timer carries this wait, the next one re-arms.
        await disarm();
        return undefined;
      }
      const event = result.value;
      if ((event.kind === "remove" || event.kind === "rename") && event.paths.includes(dirPath)) {
        // The directory itself went (removed, moved away): this watch will see nothing more.
        // Try now and re-arm on the next wait, on whatever directory is there by then.
        await disarm();
        return "event";
      }
      if (namesSocket(event, name)) return "event";
    }
    return undefined;
  };

  return {
    changed(ms, signal) {
      if (closed || signal.aborted) return Promise.resolve(signal.aborted ? "aborted" : "timeout");
      if (!watcher && arm()) return Promise.resolve("armed");
      return new Promise<WakeReason>((resolve) => {
        let finished = false;
        const finish = (why: WakeReason) => {
          if (finished) return;
          finished = true;
          endWait = undefined;
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(why);
        };
        const onAbort = () => finish("aborted");
        const timer = setTimeout(() => {
          // A directory removed or replaced leaves the watch on the old inode: re-arm next time.
          if (watcher && inode() !== watchedInode) void disarm();
          finish("timeout");
        }, ms);
        signal.addEventListener("abort", onAbort, { once: true });
        endWait = finish;
        void pump(() => finished).then((why) => why && finish(why));
      });
    },
    async close() {
      closed = true;
      endWait?.("aborted");
      await disarm();
    },
  };
}

/** Runs until `signal` aborts. Resolves when stopped. */
export async function startNetmonClient(opts: NetmonClientOptions): Promise<void> {
  const connect: Connect = opts.connect ??
    ((path) => Deno.connect({ transport: "unix", path }));
  const watchSocket = opts.watchSocket ?? watchSocketDir;
  const pause = opts.sleep ?? sleep;
  let delay = RETRY_MIN_MS;
  let warned = false;
  /** Open from the end of the fast retries until connected or stopped. */
  let watch: SocketWatch | undefined;
  const once = new OnceLog(opts.log);
  try {
    while (!opts.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await connect(opts.path);
      } catch (err) {
        if (!warned) {
          opts.log.warn(`Waiting for netmon at ${opts.path}: ${(err as Error).message}`);
          warned = true;
        }
        if (delay <= RETRY_FAST_MAX_MS) {
          await pause(delay, opts.signal);
          delay *= 2;
          continue;
        }
        watch ??= watchSocket(opts.path, opts.log);
        // Something happened to the socket file: it may take netmon a moment more to listen
        // (the original binds, then listens), so the fast retries start over.
        if (await watch.changed(WATCH_FALLBACK_MS, opts.signal) === "event") delay = RETRY_MIN_MS;
        continue;
      }
      if (watch) {
        await watch.close();
        watch = undefined;
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
        if (!opts.signal.aborted) {
          opts.log.warn(`netmon connection lost: ${(err as Error).message}`);
        }
      } finally {
        opts.signal.removeEventListener("abort", onAbort);
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      if (!opts.signal.aborted) {
        opts.log.warn("netmon closed the connection; reconnecting");
        await pause(delay, opts.signal);
      }
    }
  } finally {
    await watch?.close();
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
