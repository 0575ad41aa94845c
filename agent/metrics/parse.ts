/**
 * Pure helpers of the host sampler: CPU busy share from `os.cpus()` time counters, and the
 * physical filesystems of `df -P -k` output. (Deno refuses to read `/proc/stat`, `/proc/meminfo`
 * and `/proc/mounts` without `--allow-all`, so the sampler uses `os.cpus()` (`--allow-sys=cpus`),
 * `Deno.systemMemoryInfo()` and a `df` run once a minute instead.)
 *
 * @module
 */

/** Cumulative CPU time over all cores, ms. */
export interface CpuTimes {
  /** Idle time. */
  idle: number;
  /** Sum of every counter. */
  total: number;
}

/** Sums `os.cpus()` counters. Pure. */
export function cpuTimesOf(
  cpus: { times: { user: number; nice: number; sys: number; idle: number; irq: number } }[],
): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const { times: t } of cpus) {
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Busy share between two readings, in % (0-100); 0 when no time passed. */
export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number {
  const total = cur.total - prev.total;
  const idle = cur.idle - prev.idle;
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, (100 * (total - idle)) / total));
}

/** One physical filesystem of `df`. */
export interface DfRow {
  /** Block device, e.g. `/dev/vda1`. */
  device: string;
  /** Size, bytes. */
  total: number;
  /** Used, bytes. */
  used: number;
  /** Mount point. */
  mountpoint: string;
}

/**
 * Physical filesystems of `df -P -k` output, each device once (its first line). Physical =
 * backed by a block device under `/dev/` (loop devices left out: snaps and images, not disks);
 * tmpfs, overlay, cgroup and friends have no `/dev/` source and drop out.
 */
export function parseDf(text: string): DfRow[] {
  const seen = new Set<string>();
  const out: DfRow[] = [];
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 6) continue;
    const [device, blocks, used] = cols;
    if (!device!.startsWith("/dev/") || device!.startsWith("/dev/loop")) continue;
    if (seen.has(device!)) continue;
    const total = Number(blocks) * 1024;
    const usedBytes = Number(used) * 1024;
    if (!Number.isFinite(total) || !Number.isFinite(usedBytes)) continue;
    seen.add(device!);
    out.push({ device: device!, total, used: usedBytes, mountpoint: cols.slice(5).join(" ") });
  }
  return out;
}
