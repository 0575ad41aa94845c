/**
 * The heartbeat (protocol.md §5): built from the latest host snapshot, so a slow metric read or
 * a slow command never delays it; emitted every `--heartbeat-interval` s while connected, and
 * once right after each connect.
 *
 * @module
 */
import type { Heartbeat } from "../contracts/mod.ts";
import type { HostSnapshot } from "./metrics/host.ts";
import { round1 } from "./metrics/downsample.ts";
import type { Session } from "./session/types.ts";
import { type Every, intervalEvery } from "./ticker.ts";

/** Agent version reported in heartbeats (an allowed extra field). */
export const AGENT_VERSION = "0.1.0";

/** GB as the original computes them: bytes / 1024^3 (a 23.5 GiB host shows 23.5, not 25.3). */
export const GB = 1024 ** 3;

/** Builds the heartbeat payload. Pure. Memory and disk in GB of 1024^3 bytes, rounded to 0.1. */
export function buildHeartbeat(
  agentId: string,
  snap: HostSnapshot,
  uptimeS: number,
  nowMs: number,
  runtimes?: number,
): Heartbeat {
  const hb: Heartbeat = {
    agent_id: agentId,
    cpu_usage: Math.min(100, Math.max(0, round1(snap.cpuPercent))),
    memory_usage: round1(snap.memUsed / GB),
    memory_total: round1(snap.memTotal / GB),
    disk_usage: round1(snap.diskUsed / GB),
    disk_total: round1(snap.diskTotal / GB),
    uptime: Math.max(0, Math.round(uptimeS)),
    status: "online",
    timestamp: new Date(nowMs).toISOString(),
    agent_version: AGENT_VERSION,
  };
  if (runtimes !== undefined) hb.runtimes = runtimes;
  return hb;
}

/** What the emitter needs. */
export interface HeartbeatDeps {
  /** The cloud link. */
  session: Session;
  /** Agent id (certificate CN). */
  agentId: string;
  /** Latest host figures (must not wait). */
  snapshot: () => HostSnapshot;
  /** Agent start, unix ms. */
  startedAt: number;
  /** Seconds between beats. */
  intervalS: number;
  /** Number of runtimes, when known. */
  runtimes?: () => number | undefined;
  /** Unix ms. */
  now?: () => number;
  /** The agent's shared clock (agent/ticker.ts); plain intervals when absent. */
  every?: Every;
}

/** Starts emitting; returns a stop function. */
export function startHeartbeat(deps: HeartbeatDeps): () => void {
  const now = deps.now ?? Date.now;
  const beat = () => {
    if (!deps.session.connected()) return;
    const t = now();
    const hb = buildHeartbeat(
      deps.agentId,
      deps.snapshot(),
      (t - deps.startedAt) / 1000,
      t,
      deps.runtimes?.(),
    );
    // Not logged, not even at debug: a line per beat is 17,280 lines a day in the debug log and
    // one more file write per tick (issue 15: on the test VM each costs milliseconds of CPU after
    // the idle 5 s). The cloud sees the beats; the log says when the link goes up or down.
    deps.session.emit("heartbeat", hb);
  };
  const stop = (deps.every ?? intervalEvery)(deps.intervalS * 1000, beat);
  deps.session.onState((up) => {
    if (up) beat();
  });
  return stop;
}
