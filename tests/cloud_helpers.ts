/**
 * Helpers of the cloud tier: run the real agent as a subprocess with the permission flags of
 * permissions.json against the dev control plane started in-process.
 *
 * @module
 */
import { type DevCloud, startDevCloud } from "../scripts/devcloud/server.ts";

/** Keys of 2048 bits: 4x faster to generate than production's 4096. */
export const TEST_BITS = 2048;
const ROOT = new URL("..", import.meta.url).pathname;

/** The agent's permission flags, from the one place they live. */
export function agentFlags(): string[] {
  const p = JSON.parse(Deno.readTextFileSync(`${ROOT}permissions.json`));
  return p.agent.flags as string[];
}

/** A running agent subprocess with its output collected. */
export interface AgentProc {
  /** Everything printed so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code. */
  status: Promise<number>;
  /** Sends a signal. */
  kill(sig?: Deno.Signal): void;
  /** Resolves when `re` appears in the output (rejects after `ms`). */
  waitFor(re: RegExp, ms: number): Promise<void>;
  /** State directory. */
  stateDir: string;
}

/** Starts the agent. */
export function startAgent(
  opts: { url: string; mtlsDir: string; serverCa?: string; stateDir: string; extra?: string[] },
): AgentProc {
  const args = [
    "run",
    ...agentFlags(),
    `${ROOT}agent/main.ts`,
    "--server-url",
    opts.url,
    "--mtls-dir",
    opts.mtlsDir,
    ...(opts.serverCa ? ["--server-ca", opts.serverCa] : []),
    "--state-dir",
    opts.stateDir,
    "--heartbeat-interval",
    "1",
    ...(opts.extra ?? []),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status.then(async (s) => {
    await pumps;
    return s.code;
  });
  return {
    output: () => text,
    status,
    kill: (sig = "SIGTERM") => {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    },
    async waitFor(re, ms) {
      const end = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > end) throw new Error(`Timed out waiting for ${re} in:\n${text}`);
        await sleep(100);
      }
    },
    stateDir: opts.stateDir,
  };
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A quiet dev control plane in a temp dir. */
export async function quietCloud(dir: string, port = 0): Promise<DevCloud> {
  return await startDevCloud({ dir, port, bits: TEST_BITS, apiPort: null, log: () => {} });
}

/** Stops an agent and waits for it. */
export async function stopAgent(a: AgentProc): Promise<number> {
  a.kill("SIGTERM");
  return await a.status;
}
