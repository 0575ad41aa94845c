/**
 * Agent benchmark (for `deno task bench`): start-to-connected time, then idle RSS and CPU % over
 * 60 s connected to the dev control plane with no runtimes. Prints JSON. Measured from
 * `/proc/<pid>/stat` and `/proc/<pid>/status` of the agent process (this script runs with broad
 * permissions; the agent keeps its own).
 *
 * Usage: deno run -A scripts/bench_agent.ts [--seconds 60]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startDevCloud } from "./devcloud/server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Linux USER_HZ: clock ticks per second of /proc/<pid>/stat times (100 on every mainstream arch). */
const HZ = 100;

function procTimes(pid: number): { ticks: number; rssKb: number } {
  // Through `cat`: Deno grants reads of another process's /proc entries only with -A.
  const read = (path: string) =>
    new TextDecoder().decode(new Deno.Command("cat", { args: [path] }).outputSync().stdout);
  const stat = read(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[11], fields[12]: utime, stime (fields 14 and 15 of proc(5), counted after the name)
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = read(`/proc/${pid}/status`);
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { ticks, rssKb };
}

/** Runs the benchmark; returns the figures. */
export async function benchAgent(
  seconds = 60,
  withRuntimes = 0,
): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "bench_agent_" });
  const cloud = await startDevCloud({
    dir: `${dir}/cloud`,
    bits: 2048,
    apiPort: null,
    log: () => {},
  });
  const mtls = await cloud.issueDevice("bench");
  const flags = JSON.parse(Deno.readTextFileSync(`${ROOT}permissions.json`)).agent
    .flags as string[];
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      `${ROOT}agent/main.ts`,
      "--server-url",
      cloud.url,
      "--mtls-dir",
      mtls,
      "--server-ca",
      cloud.caFile,
      "--state-dir",
      `${dir}/state`,
      "--log-level",
      "WARNING",
      "--runtime-image",
      "edge-orchestrator/openplc-standin:latest",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  /** CPU % of one core and RSS over `secs` seconds of the agent process. */
  const idle = async (secs: number) => {
    const a = procTimes(child.pid);
    const start = performance.now();
    let peakRss = a.rssKb;
    for (let i = 0; i < secs; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      peakRss = Math.max(peakRss, procTimes(child.pid).rssKb);
    }
    const b = procTimes(child.pid);
    const wall = (performance.now() - start) / 1000;
    return {
      cpu: Math.round(((b.ticks - a.ticks) / HZ / wall) * 100 * 1000) / 1000,
      rss: Math.round((b.rssKb / 1024) * 10) / 10,
      peak: Math.round((peakRss / 1024) * 10) / 10,
      wall,
    };
  };
  const names = Array.from({ length: withRuntimes }, (_, i) => `bench-agent-rt-${i}`);
  try {
    await cloud.waitForAgent("bench", 30_000);
    const connectMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5_000)); // let start-up work (imports, first samples) settle
    const beatsBefore = cloud.heartbeats("bench").length;
    const zero = await idle(seconds);
    // Heartbeat jitter: gaps between arrivals at the control plane, against the 5 s interval.
    const beats = cloud.heartbeats("bench").slice(beatsBefore).map((h) => h.receivedAt);
    const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
    const jitter = gaps.map((g) => Math.abs(g - 5_000)).sort((x, y) => x - y);
    const out: Record<string, number> = {
      start_to_connected_ms: Math.round(connectMs),
      idle_seconds: Math.round(zero.wall),
      idle_cpu_percent: zero.cpu,
      idle_rss_mib: zero.rss,
      peak_rss_mib: zero.peak,
      heartbeats: beats.length,
      heartbeat_jitter_p50_ms: jitter[Math.floor(jitter.length / 2)] ?? -1,
      heartbeat_jitter_max_ms: jitter.at(-1) ?? -1,
    };
    if (withRuntimes > 0) {
      // Runtimes without vNICs (internal bridge only): what the agent pays per runtime is the
      // stats sampling and status work, not the LAN.
      for (const name of names) {
        await cloud.send("bench", "create_new_runtime", { container_name: name, vnic_configs: [] });
      }
      for (const name of names) {
        for (let i = 0; i < 240; i++) {
          const s = await cloud.send("bench", "get_device_status", { device_id: name }) as {
            is_running?: boolean;
          };
          if (s.is_running) break;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await new Promise((r) => setTimeout(r, 10_000));
      const busy = await idle(seconds);
      out[`idle_cpu_percent_${withRuntimes}_runtimes`] = busy.cpu;
      out[`idle_rss_mib_${withRuntimes}_runtimes`] = busy.rss;
    }
    return out;
  } finally {
    for (const name of names) {
      await cloud.send("bench", "delete_device", { device_id: name }).catch(() => {});
    }
    for (const name of names) {
      for (let i = 0; i < 120; i++) {
        const s = await cloud.send("bench", "get_device_status", { device_id: name })
          .catch(() => ({ status: "not_found" })) as { status?: string };
        if (s.status === "not_found") break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    child.kill("SIGTERM");
    await child.status;
    await cloud.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "60" },
      runtimes: { type: "string", default: "20" },
    },
  });
  console.log(JSON.stringify(await benchAgent(Number(values.seconds), Number(values.runtimes))));
}
