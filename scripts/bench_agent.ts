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
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[11], fields[12]: utime, stime (fields 14 and 15 of proc(5), counted after the name)
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { ticks, rssKb };
}

/** Runs the benchmark; returns the figures. */
export async function benchAgent(seconds = 60): Promise<Record<string, number>> {
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
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await cloud.waitForAgent("bench", 30_000);
    const connectMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5_000)); // let start-up work (imports, first samples) settle
    const a = procTimes(child.pid);
    const start = performance.now();
    let peakRss = a.rssKb;
    for (let i = 0; i < seconds; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      peakRss = Math.max(peakRss, procTimes(child.pid).rssKb);
    }
    const b = procTimes(child.pid);
    const wall = (performance.now() - start) / 1000;
    return {
      start_to_connected_ms: Math.round(connectMs),
      idle_seconds: Math.round(wall),
      idle_cpu_percent: Math.round(((b.ticks - a.ticks) / HZ / wall) * 100 * 1000) / 1000,
      idle_rss_mib: Math.round((b.rssKb / 1024) * 10) / 10,
      peak_rss_mib: Math.round((peakRss / 1024) * 10) / 10,
      heartbeats: cloud.heartbeats("bench").length,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await cloud.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { seconds: { type: "string", default: "60" } },
  });
  console.log(JSON.stringify(await benchAgent(Number(values.seconds))));
}
