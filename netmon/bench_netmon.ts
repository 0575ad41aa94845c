/**
 * Measures netmon against the real kernel (root) and prints one JSON object:
 * start to first `network_discovery`, idle RSS (split anonymous / file-backed, and PSS) and CPU,
 * and change-to-event latency minus the debounce (p50/p99 over `--changes` address changes).
 * netmon runs with the flags of permissions.json, as the task and the image run it. Measures,
 * never asserts.
 *
 * Usage (what `deno task bench` calls):
 *   deno run --allow-run --allow-read --allow-write --allow-net netmon/bench_netmon.ts \
 *     [--changes 50] [--debounce 300] [--idle-seconds 10] [--v8-flags=LIST]
 * `--v8-flags=LIST` replaces permissions.json's V8 flags for this run (to weigh other flags).
 *
 * @module
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every architecture. */
const CLK_TCK = 100;

async function sh(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Deno refuses reads of /proc/<pid> without --allow-all; `cat` needs only --allow-run. */
async function proc(pid: number, file: string): Promise<string> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/${file}`] }).output();
  return new TextDecoder().decode(out.stdout);
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await proc(pid, "stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
}

/** One `Name:  N kB` field of a /proc file, in MiB to one decimal. */
function mib(text: string, field: string): number {
  const kb = text.match(new RegExp(`^${field}:\\s+(\\d+)`, "m"))?.[1];
  return Math.round(Number(kb) / 102.4) / 10;
}

async function rssMiB(pid: number): Promise<number> {
  return mib(await proc(pid, "status"), "VmRSS");
}

/** RSS split: anonymous (netmon's own) and file-backed (mostly pages of the deno executable). */
async function memorySplit(pid: number): Promise<{ anon: number; file: number; pss: number }> {
  const status = await proc(pid, "status");
  const rollup = await proc(pid, "smaps_rollup");
  return { anon: mib(status, "RssAnon"), file: mib(status, "RssFile"), pss: mib(rollup, "Pss") };
}

function percentile(sorted: number[], p: number): number {
  const v = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return Math.round(v * 100) / 100;
}

/** Reads JSON lines from a connection and resolves waiters by predicate. */
function lineReader(conn: Deno.UnixConn) {
  const waiters: { pred: (v: Record<string, unknown>) => boolean; resolve: (t: number) => void }[] =
    [];
  void (async () => {
    let buf = "";
    try {
      for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
        const t = performance.now();
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) !== -1) {
          const v = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          const i = waiters.findIndex((w) => w.pred(v));
          if (i !== -1) waiters.splice(i, 1)[0]?.resolve(t);
        }
      }
    } catch { /* closed */ }
  })();
  return (pred: (v: Record<string, unknown>) => boolean) =>
    new Promise<number>((resolve) => waiters.push({ pred, resolve }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      changes: { type: "string", default: "50" },
      debounce: { type: "string", default: "300" },
      "idle-seconds": { type: "string", default: "10" },
      "v8-flags": { type: "string" },
    },
  });
  const changes = Number(values.changes);
  const debounce = Number(values.debounce);
  const idleSeconds = Number(values["idle-seconds"]);
  const ns = `eo-nm-bench-${crypto.randomUUID().slice(0, 6)}`;
  const dir = await Deno.makeTempDir({ prefix: "eo-nm-bench-" });
  const socket = `${dir}/netmon.sock`;
  const flags: string[] = JSON.parse(await Deno.readTextFile(`${ROOT}permissions.json`)).netmon
    .flags.filter((f: string) => values["v8-flags"] === undefined || !f.startsWith("--v8-flags="));
  if (values["v8-flags"] !== undefined) flags.push(`--v8-flags=${values["v8-flags"]}`);
  let child: Deno.ChildProcess | null = null;
  let conn: Deno.UnixConn | null = null;
  try {
    await sh("ip", "netns", "add", ns);
    const ip = (...a: string[]) => sh("ip", "-n", ns, ...a);
    await ip("link", "add", "eo0", "type", "veth", "peer", "name", "veth-eo0");
    await ip("link", "set", "eo0", "up");
    await ip("link", "set", "veth-eo0", "up");
    await ip("addr", "add", "192.0.2.10/24", "dev", "eo0");

    const started = performance.now();
    child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        Deno.execPath(),
        "run",
        ...flags,
        `${ROOT}netmon/main.ts`,
        "--socket",
        socket,
        "--debounce",
        String(debounce),
        "--log-level",
        "WARNING",
      ],
      stdout: "null",
      // As the image runs it (Dockerfile.netmon sets it): Deno's update check alone adds 2.5 MiB
      // of RSS to an empty script.
      env: { DENO_NO_UPDATE_CHECK: "1" },
    }).spawn();
    for (;;) {
      try {
        conn = await Deno.connect({ transport: "unix", path: socket });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 5)); // 5 ms: small next to a ~100 ms start
      }
    }
    const next = lineReader(conn);
    const discovered = await next((v) => v.type === "network_discovery");
    const startToDiscovery = discovered - started;

    const ticks0 = await cpuTicks(child.pid);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idleCpu = ((await cpuTicks(child.pid) - ticks0) / CLK_TCK) / idleSeconds * 100;
    const idleRss = await rssMiB(child.pid);
    const idleSplit = await memorySplit(child.pid);

    const latencies: number[] = [];
    for (let i = 0; i < changes; i++) {
      const op = i % 2 === 0 ? "add" : "del";
      const event = next((v) => v.type === "network_change");
      await ip("addr", op, "203.0.113.5/24", "dev", "eo0");
      const changed = performance.now();
      latencies.push((await event) - changed - debounce);
    }
    latencies.sort((a, b) => a - b);
    console.log(JSON.stringify({
      bench: "netmon",
      debounce_ms: debounce,
      changes,
      latency_minus_debounce_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      start_to_first_discovery_ms: Math.round(startToDiscovery),
      idle: { seconds: idleSeconds, cpu_percent_of_one_core: Math.round(idleCpu * 100) / 100 },
      rss_mib: {
        idle: idleRss,
        idle_anon: idleSplit.anon,
        idle_file: idleSplit.file,
        after_changes: await rssMiB(child.pid),
      },
      pss_mib: { idle: idleSplit.pss },
    }));
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
    try {
      child?.kill("SIGTERM");
      await child?.status;
    } catch { /* gone */ }
    await new Deno.Command("ip", { args: ["netns", "del", ns] }).output();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
