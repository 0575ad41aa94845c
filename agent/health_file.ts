/**
 * `<state-dir>/health`: what the agent says about itself to whoever looks from outside.
 *
 * - The image's HEALTHCHECK reads only the file's age (rewritten every
 *   {@linkcode HEALTH_REFRESH_MS}, connected or not: a cloud outage is no reason to restart the
 *   container).
 * - The installer reads its content to say "connected" honestly: `connected` is the session's
 *   state as of `updated_at`, and `connected_since` tells a session of *this* process (after the
 *   container's StartedAt) from a file left by an earlier run. It is rewritten at once when the
 *   link goes up or down, so a stopped control plane shows within a second, not a tick later.
 *
 * The file is JSON on one line; it is written to a new temp file and renamed over the old one
 * (a reader never sees half a file; a planted symlink is replaced, never followed). No fsync:
 * after a power cut a stale or missing health file is the truth anyway.
 *
 * @module
 */
import type { Session } from "./session/types.ts";

/** File name under the state directory. */
export const HEALTH_FILE = "health";

/**
 * How often the file is rewritten when nothing changed. The HEALTHCHECK (Dockerfile) asks every
 * 30 s for a file younger than a minute (`find -mmin -1`); 30 s keeps it at most 30 s old, half
 * the window to spare. Every 5 s (each heartbeat tick, until issue 15) cost a file creation per
 * tick: about 7 ms of CPU each on the test VM after the idle seconds, a third of the tick. Link
 * changes are written at once whatever this is.
 */
export const HEALTH_REFRESH_MS = 30_000;

/** The file's content. */
export interface HealthRecord {
  /** When this record was written (ISO 8601). */
  updated_at: string;
  /** When this agent process started (ISO 8601). */
  started_at: string;
  /** Whether the cloud session is up. */
  connected: boolean;
  /** Since when the current session is up (ISO 8601); null while it is down. */
  connected_since: string | null;
  /** The cloud endpoint the agent dials. */
  server_url: string;
}

/** Builds the record. Pure. */
export function healthRecord(
  nowMs: number,
  startedAtMs: number,
  connectedSinceMs: number | null,
  serverUrl: string,
): HealthRecord {
  return {
    updated_at: new Date(nowMs).toISOString(),
    started_at: new Date(startedAtMs).toISOString(),
    connected: connectedSinceMs !== null,
    connected_since: connectedSinceMs === null ? null : new Date(connectedSinceMs).toISOString(),
    server_url: serverUrl,
  };
}

/** What the writer needs. */
export interface HealthFileDeps {
  /** Path of the file (`<state-dir>/health`). */
  path: string;
  /** The cloud link (its state and state changes). */
  session: Pick<Session, "connected" | "onState">;
  /** Agent start, unix ms. */
  startedAt: number;
  /** The cloud endpoint. */
  serverUrl: string;
  /** Unix ms (tests). */
  now?: () => number;
  /** Writes the file (tests); defaults to temp file + rename. */
  write?: (path: string, text: string) => Promise<void>;
}

/**
 * Temp file (created new, never an existing one or a symlink) renamed over `path`. Synchronous
 * on purpose: a few hundred bytes on the local state directory; Deno runs each async file call
 * on a worker thread, so the async form cost three thread hand-offs and wake-ups per write for
 * nothing (issue 15). The log file is written the same way.
 */
function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    Deno.writeTextFileSync(tmp, text, { createNew: true, mode: 0o644 });
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    return Promise.reject(err);
  }
  return Promise.resolve();
}

/**
 * Writes the file now and on every link change; returns the function to call every
 * {@linkcode HEALTH_REFRESH_MS} (it rewrites the file). Write errors are ignored: a full disk must not stop
 * the agent, and the stale file then makes the HEALTHCHECK say so.
 */
export function startHealthFile(deps: HealthFileDeps): () => void {
  const now = deps.now ?? Date.now;
  const write = deps.write ?? replaceFile;
  let since: number | null = deps.session.connected() ? now() : null;
  // Writes are chained: a tick and a state change never race to rename (the last one wins).
  let chain = Promise.resolve();
  const flush = () => {
    const text = JSON.stringify(healthRecord(now(), deps.startedAt, since, deps.serverUrl)) + "\n";
    chain = chain.then(() => write(deps.path, text)).catch(() => {});
  };
  deps.session.onState((up) => {
    // Every "up" is a new session (a reconnect may come without a "down" in between).
    since = up ? now() : null;
    flush();
  });
  flush();
  return flush;
}
