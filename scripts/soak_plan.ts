/**
 * Pure core of the soak benchmark (scripts/bench_soak.ts, issue 14): how many events a run of a
 * given length gets, when they happen, which command is sent next, and what the samples say
 * (least-squares slope, growth after warm-up, peaks). No I/O: the random source is injected, so a
 * run is replayed from its seed, and the tables in `soak_plan_test.ts` pin the arithmetic.
 *
 * @example Counts of the default (short) run
 * ```ts
 * import { scaleCounts } from "./soak_plan.ts";
 * const c = scaleCounts(3);
 * console.assert(c.commands === 1250 && c.dockerdRestarts === 1);
 * ```
 *
 * @module
 */

/** Events of one run. */
export interface SoakCounts {
  /** Commands sent by the control plane, every topic, some hostile. */
  commands: number;
  /** Times the control plane goes away (random length each). */
  outages: number;
  /** Host address moves of the MACVLAN parent between two free ranges. */
  moves: number;
  /** Graceful dockerd stop and start. */
  dockerdRestarts: number;
}

/** Issue 14's compressed day: these counts over {@linkcode FULL_MINUTES} of load. */
export const FULL_COUNTS: SoakCounts = {
  commands: 10_000,
  outages: 500,
  moves: 50,
  dockerdRestarts: 5,
};

/**
 * Load phase of the full run, minutes: 24, so set-up (20 runtimes) and clean-up (their deletion)
 * fit in the 30 minutes the full run may take.
 */
export const FULL_MINUTES = 24;

/** The counts for `minutes` of load: the full day's scaled down, at least one of each. */
export function scaleCounts(minutes: number): SoakCounts {
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new RangeError(`soak minutes must be a positive number, got ${minutes}`);
  }
  const f = minutes / FULL_MINUTES;
  const n = (full: number) => Math.max(1, Math.round(full * f));
  return {
    commands: n(FULL_COUNTS.commands),
    outages: n(FULL_COUNTS.outages),
    moves: n(FULL_COUNTS.moves),
    dockerdRestarts: n(FULL_COUNTS.dockerdRestarts),
  };
}

/**
 * Warm-up, minutes: a sixth of the load (4 of 24), at least 1. Start-up work (imports, V8's heap
 * reaching its working size, the first metric buffers filling) is not growth; the slope is taken
 * after it.
 */
export function warmupMinutes(minutes: number): number {
  return Math.max(1, Math.round(minutes / 6));
}

/**
 * Times (ms from the start of the load) of `count` events spread over `spanMs`: one per equal
 * slot, at a random point of the slot's middle half (so two events of one kind never touch, and
 * none falls on the very start or end). Sorted.
 */
export function eventTimes(count: number, spanMs: number, rng: () => number): number[] {
  const slot = spanMs / count;
  return Array.from({ length: count }, (_, i) => Math.round(slot * (i + 0.25 + 0.5 * rng())));
}

/** Least-squares line through the points; slope 0 when fewer than two distinct x. */
export function leastSquares(points: { x: number; y: number }[]): {
  slope: number;
  intercept: number;
} {
  const n = points.length;
  if (n === 0) return { slope: 0, intercept: 0 };
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** One sample of the agent process. */
export interface ProcSample {
  /** ms since the start of the load. */
  atMs: number;
  /** VmRSS, KiB. */
  rssKb: number;
  /** Entries of /proc/<pid>/fd. */
  fds: number;
  /** Threads of /proc/<pid>/status. */
  threads: number;
  /** Direct child processes (nsenter, df, DHCP helpers). */
  children: number;
}

/** What the samples of one run say about RSS, descriptors and threads. */
export interface SoakSummary {
  /** Highest RSS of the whole run, MiB. */
  rss_peak_mib: number;
  /** RSS at the first sample after warm-up, MiB. */
  rss_after_warmup_mib: number;
  /** RSS at the last sample, MiB. */
  rss_end_mib: number;
  /** Least-squares slope of RSS after warm-up, MiB per hour. */
  rss_slope_mib_per_h: number;
  /** The fitted line's rise over the samples after warm-up, MiB: what the 2 MiB aim is about. */
  rss_growth_after_warmup_mib: number;
  /** Highest open descriptor count; its fitted rise after warm-up. */
  fds_peak: number;
  fds_growth_after_warmup: number;
  /** Highest thread count; its fitted rise after warm-up. */
  threads_peak: number;
  threads_growth_after_warmup: number;
  /** Most child processes at one sample. */
  children_peak: number;
  /** Samples after warm-up (the fit's points). */
  samples_after_warmup: number;
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;

/** Summarises samples; those at or after `warmupMs` make the fits (all of them when none is). */
export function summarize(samples: ProcSample[], warmupMs: number): SoakSummary {
  if (samples.length === 0) throw new RangeError("no samples");
  const after = samples.filter((s) => s.atMs >= warmupMs);
  const fit = after.length >= 2 ? after : samples;
  const rise = (y: (s: ProcSample) => number) => {
    const { slope } = leastSquares(fit.map((s) => ({ x: s.atMs, y: y(s) })));
    return { slope, rise: slope * (fit.at(-1)!.atMs - fit[0]!.atMs) };
  };
  const rss = rise((s) => s.rssKb / 1024);
  const max = (y: (s: ProcSample) => number) => Math.max(...samples.map(y));
  return {
    rss_peak_mib: r1(max((s) => s.rssKb) / 1024),
    rss_after_warmup_mib: r1(fit[0]!.rssKb / 1024),
    rss_end_mib: r1(samples.at(-1)!.rssKb / 1024),
    rss_slope_mib_per_h: r2(rss.slope * 3_600_000),
    rss_growth_after_warmup_mib: r2(rss.rise),
    fds_peak: max((s) => s.fds),
    fds_growth_after_warmup: r1(rise((s) => s.fds).rise),
    threads_peak: max((s) => s.threads),
    threads_growth_after_warmup: r1(rise((s) => s.threads).rise),
    children_peak: max((s) => s.children),
    samples_after_warmup: after.length,
  };
}

/** Value at the `q` quantile (0-1) of a list, nearest rank; -1 when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return -1;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The runtimes of a run and their parts in the mix. */
export interface MixContext {
  /** Runtimes stopped, started and restarted by the mix. */
  lifecycle: string[];
  /** Runtimes that stay running: targets of run_command and the reads. */
  steady: string[];
  /** The runtime deleted and created again by the mix. */
  churn: string;
  /** Whether the churn runtime is believed present (the caller flips it on the acks). */
  churnPresent: boolean;
  /** The MACVLAN parent of every runtime's vNIC. */
  parent: string;
}

/** One command to send. */
export interface PlannedCommand {
  /** Short name of what it exercises, for the per-kind counts. */
  kind: string;
  topic: string;
  payload: unknown;
  /** Bad input: the ack must refuse it (status `error` or `not_found`). */
  hostile: boolean;
}

/**
 * Share of each kind in the mix, percent. Reads dominate, as with the cloud UI's polling; a fifth
 * of the traffic is bad input (every topic's validation and not-found paths); lifecycle and churn
 * are a few percent because each one is real Docker work (seconds on this 2-core machine).
 */
export const MIX: [kind: string, percent: number][] = [
  ["status", 22],
  ["run_command", 24],
  ["consumption_device", 9],
  ["consumption_orchestrator", 4],
  ["host_interfaces", 5],
  ["serial_devices", 3],
  ["lifecycle", 7],
  ["churn", 2],
  ["hostile", 24],
];

const pick = <T>(rng: () => number, list: readonly T[]): T =>
  list[Math.floor(rng() * list.length) % list.length]!;

/** Bad inputs, one per topic family; each must be refused and change nothing. */
function hostile(rng: () => number, ctx: MixContext): PlannedCommand {
  const target = pick(rng, ctx.steady);
  const cases: [string, string, unknown][] = [
    ["not_an_object", "get_device_status", "eosk"],
    ["missing_device_id", "get_device_status", {}],
    ["wrong_type", "stop_device", { device_id: 42 }],
    ["unknown_device", "run_command", { device_id: `${target}-absent`, method: "GET", api: "/" }],
    ["header_crlf", "run_command", {
      device_id: target,
      method: "GET",
      api: "/api/status",
      headers: { "X-Soak": "a\r\nInjected: 1" },
    }],
    ["header_name_space", "run_command", {
      device_id: target,
      method: "GET",
      api: "/api/status",
      headers: { "Bad Name": "1" },
    }],
    ["bad_method", "run_command", { device_id: target, method: "BREW", api: "/" }],
    ["not_ours_agent", "restart_device", { device_id: "orchestrator_agent" }],
    ["bad_name", "create_new_runtime", { container_name: "bad name!", vnic_configs: [] }],
    ["bad_parent", "create_new_runtime", {
      container_name: `${ctx.churn}x`,
      vnic_configs: [{ name: "eth0", parent_interface: "no/such", network_mode: "dhcp" }],
    }],
    ["bad_period", "get_consumption_device", {
      device_id: target,
      cpuPeriod: "soon",
      memoryPeriod: "1h",
    }],
    ["long_id", "start_device", { device_id: "x".repeat(4096) }],
  ];
  // Not a runtime of this agent: a delete is acked at once ("deleting", like any delete) and ends
  // as not_found with nothing touched (agent/handlers/delete_device.ts), so its ack is no refusal.
  if (rng() < 1 / (cases.length + 1)) {
    const payload = { device_id: pick(rng, ["orchestrator_netmon", "orchestrator_agent"]) };
    return { kind: "scope_delete", topic: "delete_device", payload, hostile: false };
  }
  const [kind, topic, payload] = pick(rng, cases);
  return { kind: `hostile_${kind}`, topic, payload, hostile: true };
}

/** The next command of the mix. */
export function pickCommand(rng: () => number, ctx: MixContext): PlannedCommand {
  let roll = rng() * 100;
  let kind = MIX[0]![0];
  for (const [k, p] of MIX) {
    if (roll < p) {
      kind = k;
      break;
    }
    roll -= p;
  }
  const target = pick(rng, ctx.steady);
  const ok = (topic: string, payload: unknown, k = kind): PlannedCommand => ({
    kind: k,
    topic,
    payload,
    hostile: false,
  });
  switch (kind) {
    case "status":
      return ok("get_device_status", {
        device_id: rng() < 0.05 ? "__orchestrator__" : pick(rng, [...ctx.steady, ...ctx.lifecycle]),
      });
    case "run_command": {
      const post = rng() < 0.2;
      return ok("run_command", {
        device_id: target,
        method: post ? "POST" : "GET",
        api: post ? "/api/login" : "/api/status",
        ...(post ? { data: { username: "soak", password: "soak" } } : {}),
        ...(rng() < 0.3 ? { params: { q: String(Math.floor(rng() * 1e6)) } } : {}),
        ...(rng() < 0.3 ? { headers: { "X-Soak": "1" } } : {}),
      });
    }
    case "consumption_device":
      return ok("get_consumption_device", {
        device_id: target,
        cpuPeriod: pick(rng, ["10m", "1h", "24h"]),
        memoryPeriod: pick(rng, ["10m", "1h", "24h"]),
      });
    case "consumption_orchestrator":
      return ok("get_consumption_orchestrator", { cpuPeriod: "1h", memoryPeriod: "1h" });
    case "host_interfaces":
      return ok("get_host_interfaces", { include_virtual: rng() < 0.5, detailed: true });
    case "serial_devices":
      return ok("get_serial_devices", {});
    case "lifecycle": {
      const topic = pick(rng, ["stop_device", "start_device", "restart_device"]);
      return ok(topic, { device_id: pick(rng, ctx.lifecycle) }, topic);
    }
    case "churn":
      return ctx.churnPresent
        ? ok("delete_device", { device_id: ctx.churn }, "churn_delete")
        : ok("create_new_runtime", {
          container_name: ctx.churn,
          vnic_configs: [{ name: "eth0", parent_interface: ctx.parent, network_mode: "dhcp" }],
        }, "churn_create");
    default:
      return hostile(rng, ctx);
  }
}
