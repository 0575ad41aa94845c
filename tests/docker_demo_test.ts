/**
 * `deno task demo` end to end, as a user runs it: control plane, netmon and agent as processes, a
 * runtime on a MACVLAN over a veth parent whose range overlaps no route of the machine, its IP and
 * MAC printed, the runtime API awaited and every `run_command` step checked, and afterwards nothing
 * left behind (container, networks, links, namespace, processes): with `--once`, after a Ctrl-C
 * sent to the demo's whole process group (as a terminal sends it) while it runs and while it is
 * still setting up, and with its agent killed first; after a demo killed with SIGKILL, the next one
 * removes what it left. Also the stand-in image's health check.
 * Needs root and a Docker engine. The demo's names are fixed, so these tests run one at a time.
 */
import assert from "node:assert/strict";
import { ensureStandin, sh, skipReason, STANDIN, TEST_LABELS } from "./docker_helpers.ts";
import { hostTaken, pickFreeRanges } from "../scripts/free_range.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** The demo's fixed names (scripts/demo.ts). */
const RUNTIME = "demo-plc";
const PARENT = "eodemo0";
const LAN_NS = "eo-demo-lan";

const skip = await skipReason();
if (skip) console.log(`docker_demo_test skipped: ${skip}`);
const opts = { ignore: skip !== null, sanitizeResources: false, sanitizeOps: false };

/** The demo as a process in its own session and process group (pgid = pid), output collected. */
class Demo {
  text = "";
  exited = false;
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #wake: (() => void) | null = null;

  constructor(args: string[]) {
    // setsid: the group we signal is the demo's alone, not the test runner's.
    this.#child = new Deno.Command("setsid", {
      // Web page on a free port (0), not 8444, so a demo the user left running is not in the way.
      args: [Deno.execPath(), "task", "demo", "--web-port", "0", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        // The demo prints "[demo]" in bold: drop the escape sequences before matching.
        this.text += t.replaceAll("\x1b[1m", "").replaceAll("\x1b[0m", "");
        this.#wake?.();
      }
    };
    this.#reading = Promise.all([collect(this.#child.stdout), collect(this.#child.stderr)]).then();
    this.#child.status.then(() => {
      this.exited = true;
      this.#wake?.();
    });
  }

  /** Waits until the output matches `re`; returns the match. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (this.exited) throw new Error(`the demo ended without ${re}:\n${this.text}`);
      if (Date.now() > end) throw new Error(`no ${re} within ${timeoutMs} ms:\n${this.text}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
        timer = setTimeout(r, 250);
      });
      clearTimeout(timer);
    }
  }

  /** Ctrl-C in a terminal: SIGINT to every process of the foreground group. */
  interruptGroup(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGINT");
    } catch { /* the demo already ended: its output says why */ }
  }

  /** SIGKILL to the demo's group: its netmon and agent (own session) survive it. */
  killGroup(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch { /* already ended */ }
  }

  /** Exit code, after the output is read (killed after `timeoutMs`). */
  async exit(timeoutMs = 120_000): Promise<number> {
    const timer = setTimeout(() => {
      try {
        Deno.kill(-this.#child.pid, "SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
    return status.code;
  }
}

/** Asserts that nothing of the demo remains: container, networks, links, namespace, processes. */
async function assertNothingLeft(text: string): Promise<void> {
  assert.equal(
    (await sh("docker", "ps", "-a", "-q", "--filter", `name=^${RUNTIME}$`)).trim(),
    "",
    `container ${RUNTIME} left behind\n${text}`,
  );
  const nets = (await sh("docker", "network", "ls", "--format", "{{.Name}}")).split("\n");
  assert.deepEqual(
    nets.filter((n) => n === `${RUNTIME}_internal` || n.startsWith(`macvlan_${PARENT}_`)),
    [],
    text,
  );
  await assert.rejects(sh("ip", "link", "show", PARENT), `link ${PARENT} left behind`);
  assert.ok(!(await sh("ip", "netns", "list")).includes(LAN_NS), `namespace ${LAN_NS} left behind`);
  for (const m of text.matchAll(/(netmon|agent) started \(pid (\d+)/g)) {
    const alive = await Deno.stat(`/proc/${m[2]}`).then(() => true, () => false);
    assert.ok(!alive, `${m[1]} (pid ${m[2]}) still runs\n${text}`);
  }
}

/** The range the demo picked; it overlaps nothing the machine routes or needs. */
async function assertRangeFree(text: string): Promise<string> {
  const subnet = /plant LAN (\d+\.\d+\.\d+)\.0\/24 /.exec(text)?.[1];
  assert.ok(subnet, text);
  // Read after the demo removed its link: the range must still be free of every other route.
  pickFreeRanges([`${subnet}.0/24`], await hostTaken());
  return subnet;
}

Deno.test({
  name: "demo --once: runtime IP/MAC, API awaited, every step checked, everything removed",
  ...opts,
}, async () => {
  const demo = new Demo(["--once"]);
  const code = await demo.exit();
  const text = demo.text;
  assert.equal(code, 0, `the demo failed:\n${text}`);
  const net = await assertRangeFree(text);
  assert.match(text, /agent "demo-device" connected over mTLS/, text);
  const ip = `${net}.50`.replaceAll(".", "\\.");
  assert.match(
    text,
    new RegExp(
      `vPLC "demo-plc" runs on macvlan_eodemo0_${net.replaceAll(".", "\\.")}\\.0_24: IP ${ip}, ` +
        "MAC ([0-9a-f]{2}:){5}[0-9a-f]{2}",
    ),
    text,
  );
  assert.match(text, /runtime API ready [\d.]+ s after running/, text);
  assert.match(text, /run_command POST \/api\/create-user -> 201 /, text);
  assert.match(text, /run_command POST \/api\/login -> 200 /, text);
  assert.match(
    text,
    /run_command GET \/api\/status -> 200 \{"status":"STATUS:(RUNNING|STOPPED)"\}/,
    text,
  );
  assert.match(text, new RegExp(`ping from the LAN host [\\d.]+ to ${ip}: answered`), text);
  assert.match(text, /demo-plc deleted in/, text);
  assert.match(text, /\[demo\] cleaned up\n/, text);
  console.log(/time to first runtime [\d.]+ s/.exec(text)?.[0]);
  console.log(/runtime API ready .*/.exec(text)?.[0]);
  await assertNothingLeft(text);
});

Deno.test({
  name: "demo: Ctrl-C to the whole process group while it runs removes everything",
  ...opts,
}, async () => {
  const demo = new Demo([]);
  try {
    await demo.waitFor(/press Ctrl-C to remove everything/, 180_000);
  } catch (err) {
    demo.interruptGroup();
    await demo.exit();
    throw err;
  }
  const t0 = performance.now();
  demo.interruptGroup();
  const code = await demo.exit();
  const text = demo.text;
  console.log(`Ctrl-C to exit: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(code, 0, text);
  await assertRangeFree(text);
  // The agent got no signal (own session), so it deleted the runtime itself.
  assert.match(text, /SIGINT: removing everything the demo made/, text);
  assert.match(text, /demo-plc deleted in/, text);
  assert.doesNotMatch(text, /removing through Docker/, text);
  assert.match(text, /\[demo\] cleaned up\n/, text);
  await assertNothingLeft(text);
});

Deno.test({
  name: "demo: Ctrl-C while the runtime is being created ends early and removes everything",
  ...opts,
}, async () => {
  const demo = new Demo([]);
  try {
    await demo.waitFor(/create_new_runtime acked/, 180_000);
  } finally {
    demo.interruptGroup();
  }
  const code = await demo.exit();
  const text = demo.text;
  // 130: cut short by SIGINT (128 + 2).
  assert.equal(code, 130, text);
  assert.doesNotMatch(text, /run_command GET \/api\/status/, text);
  // The agent refuses a delete while it creates; the demo asks again until it is taken.
  assert.match(text, /demo-plc deleted in/, text);
  assert.match(text, /\[demo\] cleaned up\n/, text);
  await assertNothingLeft(text);
});

Deno.test({
  name: "demo: with its agent killed, Ctrl-C removes the runtime through Docker directly",
  ...opts,
}, async () => {
  const demo = new Demo([]);
  let agentPid: number;
  try {
    await demo.waitFor(/press Ctrl-C to remove everything/, 180_000);
    agentPid = Number((await demo.waitFor(/agent started \(pid (\d+)/, 0))[1]);
    Deno.kill(agentPid, "SIGKILL");
    // The agent's exit is seen by the demo; the runtime stays behind until the demo removes it.
    for (let i = 0; i < 50 && (await Deno.stat(`/proc/${agentPid}`).then(() => 1, () => 0)); i++) {
      await new Promise((r) => setTimeout(r, 100)); // 50 x 100 ms: SIGKILL acts at once
    }
  } finally {
    demo.interruptGroup();
  }
  const code = await demo.exit();
  const text = demo.text;
  assert.equal(code, 0, text);
  // Whether the demo saw the exit before the signal, saw it exit while it began the deletion (a
  // CI run: the killed agent still counted as alive at the first check, dead at the next), or
  // found it disconnected when it tried to delete through it, the runtime is removed through
  // Docker.
  assert.match(
    text,
    /the agent is gone|deletion through the agent: (.*not connected|the agent exited)/,
    text,
  );
  assert.doesNotMatch(text, /demo-plc deleted in/, text);
  assert.match(text, /removing through Docker: container demo-plc/, text);
  assert.match(text, /\[demo\] cleaned up\n/, text);
  await assertNothingLeft(text);
});

Deno.test({
  name: "demo killed with SIGKILL: the next demo stops what it left running and removes it",
  ...opts,
}, async () => {
  const first = new Demo([]);
  try {
    await first.waitFor(/press Ctrl-C to remove everything/, 180_000);
  } finally {
    first.killGroup();
  }
  await first.exit();
  const second = new Demo(["--once"]);
  const code = await second.exit();
  const text = `${first.text}\n----- next demo -----\n${second.text}`;
  assert.equal(code, 0, text);
  assert.equal(
    [...second.text.matchAll(/stopping pid \d+ left running by an earlier demo/g)].length,
    2,
    text,
  );
  assert.match(second.text, /removing leftovers of an earlier demo: container demo-plc/, text);
  // The first demo's working directory goes too (it held its certificates, state and logs).
  const firstWork = /working directory (\S+)/.exec(first.text)?.[1];
  assert.ok(firstWork, text);
  assert.match(second.text, new RegExp(`removed the working directory ${firstWork} `), text);
  assert.equal(await Deno.stat(firstWork).then(() => true, () => false), false, firstWork);
  assert.match(second.text, /\[demo\] cleaned up\n/, text);
  // Both demos' netmon and agent are gone, and everything else.
  await assertNothingLeft(text);
});

Deno.test({
  name: "stand-in image: HEALTHCHECK on /api/version goes starting -> healthy after the API delay",
  ...opts,
}, async () => {
  await ensureStandin();
  const name = `eo-standin-${crypto.randomUUID().slice(0, 8)}`;
  const labels = Object.entries(TEST_LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  // 3 s: several 1 s start-interval probes fail before the API listens.
  const delayMs = 3000;
  await sh(
    "docker",
    "run",
    "-d",
    "--name",
    name,
    ...labels,
    "-e",
    `STANDIN_API_DELAY_MS=${delayMs}`,
    STANDIN,
  );
  const t0 = performance.now();
  try {
    const seen: string[] = [];
    let healthyAt = 0;
    for (let i = 0; i < 300; i++) { // 300 x 100 ms: healthy ~1 s after the delay
      const s = (await sh("docker", "inspect", "-f", "{{.State.Health.Status}}", name)).trim();
      if (seen.at(-1) !== s) seen.push(s);
      if (s === "healthy") {
        healthyAt = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(seen, ["starting", "healthy"]);
    assert.ok(healthyAt >= delayMs, `healthy after ${healthyAt} ms, before the API listened`);
    const log = JSON.parse(await sh("docker", "inspect", "-f", "{{json .State.Health.Log}}", name));
    assert.ok(log.some((p: { ExitCode: number }) => p.ExitCode !== 0), "no probe failed first");
    console.log(`stand-in healthy ${(healthyAt / 1000).toFixed(1)} s after start (API delay 3 s)`);
  } finally {
    await sh("docker", "rm", "-f", name).catch(() => {});
  }
});
