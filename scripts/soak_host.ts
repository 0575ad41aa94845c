/**
 * Host adapters of the soak benchmark (scripts/bench_soak.ts): samples of another process read
 * from /proc through `cat`/`ls` (Deno reads another process's /proc entries only with -A), and a
 * graceful dockerd restart done the way the fault tier does it (tests/fault_restart_test.ts):
 * SIGTERM, wait for the process to be gone, start it again with scripts/ensure_docker.sh, and
 * call it up only when it still answers 3 s later. Needs root for the restart.
 *
 * @module
 */
import type { ProcSample } from "./soak_plan.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs a command; stdout, or throws with stderr. */
async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr).trim()}`);
  return text(out.stdout);
}

/** RSS, open descriptors, threads and direct children of `pid`, at `atMs`. */
export async function sampleProcess(pid: number, atMs: number): Promise<ProcSample> {
  const status = await run("cat", `/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  const fds = (await run("ls", `/proc/${pid}/fd`)).split("\n").filter((l) => l !== "").length;
  // Each thread lists the processes it spawned; the agent's nsenter/df children are short-lived,
  // DHCP helpers live as long as their lease.
  const children = await run("sh", "-c", `cat /proc/${pid}/task/*/children`).catch(() => "");
  return {
    atMs,
    rssKb: field("VmRSS"),
    fds,
    threads: field("Threads"),
    children: children.split(/\s+/).filter((w) => w !== "").length,
  };
}

const pidofDockerd = () => run("pidof", "dockerd").then((o) => o.trim(), () => "");
const dockerAnswers = () =>
  run("docker", "info", "--format", "{{.ServerVersion}}").then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM to dockerd (graceful: it stops its containers), then waits until the process is gone. */
export async function stopDockerd(timeoutMs = 60_000): Promise<void> {
  for (const p of (await pidofDockerd()).split(" ").filter(Boolean)) {
    Deno.kill(Number(p), "SIGTERM");
  }
  const end = Date.now() + timeoutMs;
  while (await pidofDockerd()) {
    if (Date.now() > end) throw new Error(`dockerd still running ${timeoutMs} ms after SIGTERM`);
    await sleep(250);
  }
}

/**
 * Starts dockerd with scripts/ensure_docker.sh unless one runs and answers. Up means: a process
 * exists and answers, still 3 s later (a daemon finishing its shutdown can answer for a moment).
 * Three attempts, then throws: the engine is shared with CI, so it must come back.
 */
export async function ensureDockerd(log: (l: string) => void = console.error): Promise<void> {
  const script = new URL("./ensure_docker.sh", import.meta.url).pathname;
  for (let attempt = 1; attempt <= 3; attempt++) {
    if (!(await pidofDockerd()) || !(await dockerAnswers())) {
      await run("bash", script).catch((e) => log(`ensure_docker.sh: ${(e as Error).message}`));
    }
    await sleep(3_000);
    if (await pidofDockerd() && await dockerAnswers()) return;
    log(`dockerd not up after attempt ${attempt}`);
  }
  throw new Error("dockerd does not stay up: see /var/log/dockerd.log");
}

/** Stops and starts dockerd; resolves with the ms from the stop to an engine that answers. */
export async function restartDockerd(log?: (l: string) => void): Promise<number> {
  const t0 = performance.now();
  await stopDockerd();
  await ensureDockerd(log);
  // ensureDockerd waits 3 s to see the daemon stay up: not part of the outage.
  return Math.round(performance.now() - t0 - 3_000);
}

/** Names of running containers whose name starts with `prefix`. */
export async function runningContainers(prefix: string): Promise<string[]> {
  const out = await run("docker", "ps", "--format", "{{.Names}}").catch(() => "");
  return out.split("\n").filter((n) => n.startsWith(prefix));
}

/** Direct children of `pid` with their command lines (NUL separators as spaces). */
export async function childProcesses(pid: number): Promise<{ pid: number; cmdline: string }[]> {
  const list = await run("sh", "-c", `cat /proc/${pid}/task/*/children`).catch(() => "");
  const out: { pid: number; cmdline: string }[] = [];
  for (const w of list.split(/\s+/).filter((w) => w !== "")) {
    const cmdline = await run("cat", `/proc/${w}/cmdline`).catch(() => null);
    if (cmdline !== null) out.push({ pid: Number(w), cmdline: cmdline.replaceAll("\0", " ") });
  }
  return out;
}

/**
 * Ends processes of `procs` that still run the same command line (a process the agent left
 * behind: its DHCP clients are meant to outlive an agent restart, not a test); returns their
 * command lines.
 */
export async function endLeftovers(procs: { pid: number; cmdline: string }[]): Promise<string[]> {
  const ended: string[] = [];
  for (const p of procs) {
    const now = await run("cat", `/proc/${p.pid}/cmdline`).catch(() => null);
    if (now === null || now.replaceAll("\0", " ") !== p.cmdline) continue; // gone, or pid reused
    try {
      Deno.kill(p.pid, "SIGTERM");
      ended.push(`${p.pid}: ${p.cmdline.slice(0, 200)}`);
    } catch { /* gone meanwhile */ }
  }
  if (ended.length) await sleep(2_000);
  for (const p of procs) {
    const now = await run("cat", `/proc/${p.pid}/cmdline`).catch(() => null);
    if (now !== null && now.replaceAll("\0", " ") === p.cmdline) {
      try {
        Deno.kill(p.pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
  return ended;
}
