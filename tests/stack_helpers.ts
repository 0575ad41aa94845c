/**
 * The whole stack for end-to-end tiers: the dev control plane (in-process), netmon and the agent
 * as real processes in the host namespace (where dockerd and the MACVLAN parents live), each with
 * its permission flags from permissions.json.
 *
 * @module
 */
import type { DevCloud } from "../scripts/devcloud/server.ts";
import { type AgentProc, quietCloud, sleep, startAgent } from "./cloud_helpers.ts";
import { STANDIN } from "./docker_helpers.ts";
import { NetmonProcess } from "./netns_helpers.ts";

/** netmon in the host namespace. */
export class HostNetmon extends NetmonProcess {
  constructor(socket: string, debounceMs: number) {
    super(null, socket, debounceMs);
  }
}

/** A running stack. */
export interface Stack {
  cloud: DevCloud;
  agent: AgentProc;
  netmon: HostNetmon;
  stateDir: string;
  /** Sends a topic to the agent. */
  send(topic: string, payload: unknown): Promise<Record<string, unknown>>;
  /** Polls get_device_status until `ok(status)` (rejects with the last status after `ms`). */
  waitStatus(
    id: string,
    ok: (s: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  /** Restarts the agent process (SIGKILL when `kill`). */
  restartAgent(kill?: boolean): Promise<void>;
  /** Stops everything (agent, netmon, cloud); deletes nothing. */
  stop(): Promise<void>;
}

/** Device id of the stack's agent. */
export const DEVICE = "stack-agent";

/** Starts cloud, netmon and agent; resolves once the agent is connected. */
export async function startStack(dir: string, debounceMs = 500): Promise<Stack> {
  const cloud = await quietCloud(`${dir}/cloud`);
  const mtlsDir = await cloud.issueDevice(DEVICE);
  const stateDir = `${dir}/state`;
  await Deno.mkdir(stateDir, { recursive: true });
  const netmon = new HostNetmon(`${stateDir}/netmon.sock`, debounceMs);
  const launch = () =>
    startAgent({
      url: cloud.url,
      mtlsDir,
      serverCa: cloud.caFile,
      stateDir,
      extra: ["--runtime-image", STANDIN, "--log-level", "DEBUG"],
    });
  const stack: Stack = {
    cloud,
    agent: launch(),
    netmon,
    stateDir,
    send: (topic, payload) =>
      cloud.send(DEVICE, topic, payload, 30_000) as Promise<Record<string, unknown>>,
    async waitStatus(id, ok, ms = 60_000) {
      const end = Date.now() + ms;
      let last: Record<string, unknown> = {};
      while (Date.now() < end) {
        try {
          last = await stack.send("get_device_status", { device_id: id });
          if (ok(last)) return last;
        } catch (err) {
          last = { send_error: String(err) };
        }
        await sleep(250);
      }
      throw new Error(`status of ${id} never matched; last: ${JSON.stringify(last)}`);
    },
    async restartAgent(kill = false) {
      stack.agent.kill(kill ? "SIGKILL" : "SIGTERM");
      await stack.agent.status;
      // The control plane may still hold the old agent's socket for a moment: wait for the new
      // connection itself, or the next command could go to the dead socket.
      const before = stack.cloud.connections(DEVICE);
      stack.agent = launch();
      const until = Date.now() + 60_000;
      while (stack.cloud.connections(DEVICE) <= before || !stack.cloud.agents().includes(DEVICE)) {
        if (Date.now() > until) throw new Error("the restarted agent did not connect in 60 s");
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      stack.agent.kill("SIGTERM");
      await stack.agent.status;
      await netmon.stop();
      await cloud.stop();
    },
  };
  await cloud.waitForAgent(DEVICE, 60_000);
  return stack;
}

/** MAC of every link inside a container's namespace, and its start time, via docker + nsenter. */
export async function inside(
  name: string,
): Promise<{ startedAt: string; links: Record<string, string>; internalMac: string }> {
  const out = await new Deno.Command("docker", {
    args: [
      "inspect",
      "-f",
      `{{.State.Pid}} {{.State.StartedAt}} {{with index .NetworkSettings.Networks "${name}_internal"}}{{.MacAddress}}{{end}}`,
      name,
    ],
    stdout: "piped",
  }).output();
  const [pid, startedAt, internalMac] = new TextDecoder().decode(out.stdout).trim().split(" ");
  const ip = await new Deno.Command("nsenter", {
    args: ["-t", pid!, "-n", "ip", "-o", "link"],
    stdout: "piped",
  }).output();
  const links: Record<string, string> = {};
  for (const line of new TextDecoder().decode(ip.stdout).split("\n")) {
    const m = /^\d+: ([^:@]+)[^:]*:.*link\/ether ([0-9a-f:]{17})/.exec(line);
    if (m) links[m[1]!] = m[2]!;
  }
  return { startedAt: startedAt ?? "", links, internalMac: internalMac ?? "" };
}

/** Removes containers and networks by name prefix (test leftovers), ignoring errors. */
export async function removeByPrefix(prefixes: string[]): Promise<void> {
  const list = async (kind: "container" | "network") => {
    const out = await new Deno.Command("docker", {
      args: kind === "container"
        ? ["ps", "-a", "--format", "{{.Names}}"]
        : ["network", "ls", "--format", "{{.Name}}"],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).split("\n").filter((n) =>
      prefixes.some((p) => n.startsWith(p))
    );
  };
  for (const c of await list("container")) {
    await new Deno.Command("docker", { args: ["rm", "-f", c], stdout: "null", stderr: "null" })
      .output();
  }
  for (const n of await list("network")) {
    await new Deno.Command("docker", { args: ["network", "rm", n], stdout: "null", stderr: "null" })
      .output();
  }
}
