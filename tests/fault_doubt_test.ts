/**
 * Fault tier, doubt (issue 11, docs/decisions/0011):
 * - start in doubt: two runtimes run; the agent is killed, its `runtimes.json` torn, and it starts
 *   while the Docker socket does not answer; 10 s later Docker answers. Both runtimes must still
 *   exist, run, and not have been restarted, 30 s later (they are adopted, not removed);
 * - kill -9 before and after each Docker call that a create makes, then a restart: the create
 *   converges (the runtime runs with exactly its objects) and a delete leaves nothing behind.
 *
 * The agent reaches Docker through tests/docker_proxy.ts (absent at first; it kills the agent at a
 * chosen call). The MACVLAN parent is a veth without a host address: the LAN comes from the
 * cloud's `parent_subnet`, so no range is put on the host's own namespace.
 */
import assert from "node:assert/strict";
import { type AgentProc, quietCloud, sleep, startAgent } from "./cloud_helpers.ts";
import { ensureStandin, sh, skipReason, STANDIN } from "./docker_helpers.ts";
import { DockerProxy } from "./docker_proxy.ts";
import { eventually, managedObjects } from "./fault_common.ts";
import { HostNetmon, removeByPrefix } from "./stack_helpers.ts";
import type { DevCloud } from "../scripts/devcloud/server.ts";

const skip = await skipReason();
if (skip) console.log(`fault_doubt_test: skipped: ${skip}`);

const PARENT = "eofd0";
const NS = `${PARENT}ns`;
const PREFIX = "eofd-";
/** Only inside the namespace of the veth peer: the host gets no address of it. */
const LAN = "10.231.7.0/24";
const NET = `macvlan_${PARENT}_10.231.7.0_24`;
const DEVICE = "doubt-agent";
const vnic = { name: "eth0", parent_interface: PARENT, network_mode: "dhcp", parent_subnet: LAN };

interface Lab {
  dir: string;
  cloud: DevCloud;
  mtlsDir: string;
  stateDir: string;
  netmon: HostNetmon;
  proxy: DockerProxy;
  agent: AgentProc | null;
}

async function lab(): Promise<Lab> {
  await removeByPrefix([PREFIX, `macvlan_${PARENT}_`]);
  await sh("ip", "link", "del", PARENT).catch(() => {});
  await sh("ip", "netns", "del", NS).catch(() => {});
  await sh("ip", "link", "add", PARENT, "type", "veth", "peer", "name", `${PARENT}p`);
  await sh("ip", "netns", "add", NS);
  await sh("ip", "link", "set", `${PARENT}p`, "netns", NS);
  await sh("ip", "link", "set", PARENT, "up");
  await sh("ip", "netns", "exec", NS, "ip", "link", "set", `${PARENT}p`, "up");
  const dir = await Deno.makeTempDir({ prefix: "eo-fdoubt-" });
  const cloud = await quietCloud(`${dir}/cloud`);
  const mtlsDir = await cloud.issueDevice(DEVICE);
  const stateDir = `${dir}/state`;
  await Deno.mkdir(stateDir, { recursive: true });
  const netmon = new HostNetmon(`${stateDir}/netmon.sock`, 300);
  return {
    dir,
    cloud,
    mtlsDir,
    stateDir,
    netmon,
    proxy: new DockerProxy(`${dir}/docker.sock`),
    agent: null,
  };
}

async function launch(l: Lab, viaProxy: boolean): Promise<AgentProc> {
  // The control plane must have seen the previous agent go, or a command could go to its socket.
  await eventually(
    () => {
      assert.equal(l.cloud.agents().includes(DEVICE), false, "previous agent still connected");
      return Promise.resolve();
    },
    30_000,
    50,
  );
  const agent = startAgent({
    url: l.cloud.url,
    mtlsDir: l.mtlsDir,
    serverCa: l.cloud.caFile,
    stateDir: l.stateDir,
    extra: [
      "--runtime-image",
      STANDIN,
      "--log-level",
      "DEBUG",
      ...(viaProxy ? ["--docker-socket", `${l.dir}/docker.sock`] : []),
    ],
  });
  l.agent = agent;
  await l.cloud.waitForAgent(DEVICE, 60_000);
  return agent;
}

async function send(l: Lab, topic: string, payload: unknown): Promise<Record<string, unknown>> {
  return await l.cloud.send(DEVICE, topic, payload, 30_000) as Record<string, unknown>;
}

async function status(l: Lab, id: string): Promise<Record<string, unknown>> {
  return await send(l, "get_device_status", { device_id: id });
}

async function teardown(l: Lab | null): Promise<void> {
  if (!l) return;
  if (l.agent) {
    l.agent.kill("SIGKILL");
    await l.agent.status;
  }
  l.proxy.stop();
  await l.netmon.stop().catch(() => {});
  await l.cloud.stop().catch(() => {});
  await removeByPrefix([PREFIX, `macvlan_${PARENT}_`]);
  await sh("ip", "link", "del", PARENT).catch(() => {});
  await sh("ip", "netns", "del", NS).catch(() => {});
  await Deno.remove(l.dir, { recursive: true }).catch(() => {});
}

async function started(name: string): Promise<{ startedAt: string; restarts: string }> {
  const out = await sh("docker", "inspect", "-f", "{{.State.StartedAt}} {{.RestartCount}}", name);
  const [startedAt, restarts] = out.trim().split(" ");
  return { startedAt: startedAt!, restarts: restarts! };
}

Deno.test({
  name: "start in doubt: torn registry, Docker silent at start: nothing removed or restarted",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    let l: Lab | null = null;
    try {
      l = await lab();
      const agent = await launch(l, false);
      for (const n of ["a", "b"]) {
        await send(l, "create_new_runtime", {
          container_name: `${PREFIX}${n}`,
          vnic_configs: [vnic],
        });
      }
      for (const n of ["a", "b"]) {
        await eventually(async () => {
          const st = await status(l!, `${PREFIX}${n}`);
          assert.equal(st.is_running, true, JSON.stringify(st));
        }, 60_000);
      }
      const before = { a: await started(`${PREFIX}a`), b: await started(`${PREFIX}b`) };
      agent.kill("SIGKILL");
      await agent.status;
      // The registry torn mid-write (the state a power cut can leave without atomic writes).
      const reg = await Deno.readTextFile(`${l.stateDir}/runtimes.json`);
      await Deno.writeTextFile(`${l.stateDir}/runtimes.json`, reg.slice(0, reg.length >> 1));

      const doubtful = await launch(l, true); // the proxy is not listening: Docker is silent
      await doubtful.waitFor(/Cannot observe Docker, changing nothing/, 30_000);
      const st = await status(l, `${PREFIX}a`);
      assert.notEqual(st.status, "deleting", "no delete while in doubt");
      await sleep(10_000);
      l.proxy.start(); // Docker answers from now on
      await doubtful.waitFor(/vNICs rebuilt from container labels/, 30_000);
      await sleep(30_000);
      for (const n of ["a", "b"] as const) {
        const name = `${PREFIX}${n}`;
        assert.deepEqual(await started(name), before[n], `${name} neither removed nor restarted`);
        const s = await status(l, name);
        assert.equal(s.status, "success", JSON.stringify(s));
        assert.equal(s.is_running, true);
      }
      assert.doesNotMatch(doubtful.output(), /remove_container|Runtime deleted/);
      // Adopted runtimes are fully served: a delete removes one cleanly.
      await send(l, "delete_device", { device_id: `${PREFIX}b` });
      await eventually(async () => {
        assert.equal((await status(l!, `${PREFIX}b`)).status, "not_found");
      }, 60_000);
      assert.equal((await status(l, `${PREFIX}a`)).is_running, true);
    } finally {
      await teardown(l);
    }
  },
});

Deno.test({
  name: "kill -9 before and after each Docker call of a create: converged, nothing half-made",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    let l: Lab | null = null;
    try {
      l = await lab();
      l.proxy.start();
      let calls = Infinity;
      // A create makes 6 changing calls (pull, 2 networks, container, policy, start), 9 more on
      // an engine that refuses real-time ulimits (remove, create again, policy, start): 16 bounds it.
      for (
        let call = Number(Deno.env.get("FAULT_DOUBT_FROM") ?? 1);
        call <= Math.min(calls, 16);
        call++
      ) {
        for (const when of ["before", "after"] as const) {
          const name = `${PREFIX}k${call}${when[0]}`;
          const agent = await launch(l, true);
          l.proxy.arm({ call, when, kill: () => agent.kill("SIGKILL") });
          // The ack may be lost with the killed agent: the create was recorded before any Docker
          // call (it is persisted before the ack), so it must converge after the restart anyway.
          void send(l, "create_new_runtime", { container_name: name, vnic_configs: [vnic] })
            .catch(() => {});
          let dead = false;
          void agent.status.then(() => (dead = true));
          const outcome = await (async () => {
            const until = Date.now() + 60_000;
            while (Date.now() < until) {
              if (dead) return "killed";
              const st = await status(l!, name).catch(() => ({} as Record<string, unknown>));
              if (st.is_running === true) return "finished";
              await sleep(200);
            }
            Deno.writeTextFileSync("/tmp/fault_doubt_agent.log", agent.output());
            throw new Error(`call ${call} ${when}: neither killed nor created in 60 s`);
          })();
          console.log(`  call ${call} ${when}: ${outcome} (${l.proxy.calls.join(", ")})`);
          if (outcome === "finished") {
            calls = l.proxy.count; // the create makes fewer changing calls than `call`
            l.proxy.disarm();
            agent.kill("SIGKILL");
          }
          await agent.status;
          l.proxy.disarm();
          const again = await launch(l, true);
          await eventually(async () => {
            const st = await status(l!, name);
            assert.equal(st.status, "success", JSON.stringify(st));
            assert.equal(st.is_running, true);
            assert.deepEqual(Object.keys(st.networks as object), [NET]);
            const objs = await managedObjects();
            assert.deepEqual(objs.containers.filter((n) => n.startsWith(PREFIX)), [name]);
            assert.deepEqual(
              objs.networks.filter((n) => n.startsWith(PREFIX) || n.startsWith("macvlan_eofd")),
              [NET, `${name}_internal`].sort(),
            );
          }, 60_000).catch((err) => {
            Deno.writeTextFileSync("/tmp/fault_doubt_agent.log", again.output());
            console.log(`  killed agent's log:\n${agent.output().slice(-3000)}`);
            for (const f of ["runtimes.json", "runtime_vnics.json"]) {
              console.log(`  ${f}: ${Deno.readTextFileSync(`${l!.stateDir}/${f}`)}`);
            }
            Deno.writeTextFileSync("/tmp/fault_doubt_first.log", agent.output());
            for (const f of Deno.readDirSync(l!.stateDir)) console.log(`  state: ${f.name}`);
            throw err;
          });
          await send(l, "delete_device", { device_id: name });
          await eventually(async () => {
            assert.equal((await status(l!, name)).status, "not_found");
            const objs = await managedObjects();
            assert.deepEqual(objs.containers.filter((n) => n.startsWith(PREFIX)), []);
            assert.deepEqual(
              objs.networks.filter((n) => n.startsWith(PREFIX) || n.startsWith("macvlan_eofd")),
              [],
            );
          }, 60_000).catch((err) => {
            Deno.writeTextFileSync("/tmp/fault_doubt_agent.log", l!.agent!.output());
            throw err;
          });
          l.agent!.kill("SIGTERM");
          await l.agent!.status;
          l.agent = null;
          if (call > calls) break;
        }
      }
      assert.ok(calls >= 4 && calls < Infinity, `a create makes ${calls} changing calls`);
    } finally {
      await teardown(l);
    }
  },
});

Deno.test({
  name: "commands touch only this agent's runtimes: netmon, the agent, another agent's: not_found",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    let l: Lab | null = null;
    const others = [`${PREFIX}netmon`, `${PREFIX}agent`, `${PREFIX}foreign`];
    try {
      l = await lab();
      await launch(l, false);
      // The installer's containers carry the managed label with their role; another agent's
      // runtime carries the runtime role with another agent id. None is this agent's.
      const run = (name: string, labels: string[]) =>
        sh(
          "docker",
          "run",
          "-d",
          "--name",
          name,
          "--label",
          "io.edge-orchestrator.test=1",
          ...labels.flatMap((x) => ["--label", x]),
          STANDIN,
        ); // deno-fmt-ignore
      await run(others[0]!, ["io.edge-orchestrator.managed=1", "io.edge-orchestrator.role=netmon"]);
      await run(others[1]!, ["io.edge-orchestrator.managed=1", "io.edge-orchestrator.role=agent"]);
      await run(others[2]!, [
        "io.edge-orchestrator.managed=1",
        "io.edge-orchestrator.role=runtime",
        "io.edge-orchestrator.agent=someone-else",
      ]);
      const before = await Promise.all(others.map(started));
      for (const name of others) {
        const ack = await send(l, "delete_device", { device_id: name });
        assert.equal(ack.status, "deleting"); // the original's ack: an unknown id is not refused
        for (const topic of ["stop_device", "restart_device", "start_device"]) {
          const r = await send(l, topic, { device_id: name });
          assert.equal(r.status, "error", `${topic} ${name}: ${JSON.stringify(r)}`);
          assert.match(String(r.error), /Device not found/);
        }
      }
      await sleep(3_000); // a few passes
      for (const [i, name] of others.entries()) {
        assert.equal((await status(l, name)).status, "not_found");
        assert.deepEqual(await started(name), before[i], `${name} untouched`);
      }
    } finally {
      for (const name of others) await sh("docker", "rm", "-f", name).catch(() => {});
      await teardown(l);
    }
  },
});
