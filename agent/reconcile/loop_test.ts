import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import type { DesiredRuntime } from "../runtimes/desired.ts";
import { runLanes, type StepOutcome } from "./lanes.ts";
import { Reconciler } from "./loop.ts";
import { ProblemBoard } from "./problems.ts";
import type { Observed, Step } from "./types.ts";

function observedStopped(running = false): Observed {
  return {
    containers: [{
      id: "a",
      name: "a",
      image: "",
      labels: {},
      status: running ? "running" : "exited",
      running,
      exitCode: 0,
      startedAt: "",
      restartCount: 0,
      pid: 0,
      restartPolicy: "always",
      capAdd: [],
      ulimits: [],
      dns: [],
      networks: { a_internal: { network: "a_internal" } },
      memoryLimit: 0,
      nanoCpus: 0,
    }],
    networks: [{
      id: "n",
      name: "a_internal",
      driver: "bridge",
      internal: true,
      options: {},
      subnets: [],
      labels: {},
      containers: [],
    }],
    parents: { synced: true, get: () => ({ state: "unknown" }) },
    crashLooping: new Set(),
  };
}

const A: DesiredRuntime = {
  name: "a",
  running: true,
  vnics: [],
  image: "img",
  version: "latest",
  phase: "ready",
  internal_ip: null,
};

function loopWith(o: {
  observe?: () => Promise<Observed>;
  execute: (step: Step, signal: AbortSignal) => Promise<StepOutcome>;
  problems?: ProblemBoard;
  passTimeoutMs?: number;
  loaded?: () => boolean;
  desired?: () => DesiredRuntime[];
}) {
  return new Reconciler({
    observe: o.observe ?? (() => Promise.resolve(observedStopped())),
    loaded: o.loaded ?? (() => true),
    desired: o.desired ?? (() => [A]),
    context: () => ({ labels: {}, selfContainer: null, restarts: new Set(), selfDestruct: false }),
    engine: () => Promise.resolve({ macsAtCreate: true, ulimits: true }),
    run: (steps, signal) => runLanes(steps, 4, (s) => o.execute(s, signal), signal),
    execute: o.execute,
    problems: o.problems ?? new ProblemBoard(),
    log: silentLogger,
    ...(o.passTimeoutMs ? { passTimeoutMs: o.passTimeoutMs } : {}),
  });
}

Deno.test("a stopped runtime is started, then the loop converges and stays quiet", async () => {
  let running = false;
  const executed: Step[] = [];
  let observes = 0;
  const loop = loopWith({
    observe: () => {
      observes++;
      return Promise.resolve(observedStopped(running));
    },
    execute: (step) => {
      executed.push(step);
      running = true;
      return Promise.resolve({ failures: [] });
    },
  });
  await loop.trigger("start");
  assert.deepEqual(executed, [{ kind: "start", runtime: "a" }, { kind: "settle", runtime: "a" }]);
  const before = observes;
  await loop.trigger("timer");
  assert.equal(executed.length, 2, "converged: nothing more to do");
  assert.equal(observes, before + 1, "one observation, no planning work");
});

Deno.test("triggers while processing coalesce into one follow-up pass", async () => {
  const loop = loopWith({ execute: () => Promise.resolve({ failures: [] }) });
  await Promise.all([loop.trigger("one"), loop.trigger("two"), loop.trigger("three")]);
  assert.equal(loop.passes, 2);
});

Deno.test("nothing is planned before the desired state is loaded; Docker down changes nothing", async () => {
  const executed: string[] = [];
  const unloaded = loopWith({
    loaded: () => false,
    execute: (s) => (executed.push(s.kind), Promise.resolve({ failures: [] })),
  });
  await unloaded.trigger("start");
  const down = loopWith({
    observe: () => Promise.reject(new Error("connect ENOENT /var/run/docker.sock")),
    execute: (s) => (executed.push(s.kind), Promise.resolve({ failures: [] })),
  });
  await down.trigger("start");
  assert.deepEqual(executed, []);
  assert.equal(down.trusted, false);
  down.stop();
});

Deno.test("a failing step is not retried before its time (no hot loop)", async () => {
  const executed: string[] = [];
  const failing = loopWith({
    execute: (step) => {
      executed.push(step.kind);
      return Promise.resolve({ failures: [{ runtime: "a", error: "cannot start" }] });
    },
  });
  await failing.trigger("one");
  await failing.trigger("two");
  await failing.trigger("three");
  assert.deepEqual(executed, ["start"], "tried once; the retry waits 2 s");
  failing.stop();
});

Deno.test("a step Docker refuses shows in the runtime's problems until it works", async () => {
  let refuse = true;
  const problems = new ProblemBoard();
  const loop = loopWith({
    problems,
    execute: () =>
      Promise.resolve({
        failures: refuse ? [{ runtime: "a", error: "network id 85d4 not found" }] : [],
      }),
  });
  await loop.trigger("one");
  await loop.trigger("two"); // cooling down: the board now carries the failure
  assert.deepEqual(problems.get("a").map((p) => p.problem), [
    { code: "step_failed", step: "start", error: "network id 85d4 not found" },
  ]);
  refuse = false;
  loop.invalidate(); // Docker came back: failures are forgotten and retried at once
  await loop.trigger("docker");
  assert.deepEqual(problems.get("a"), []);
  loop.stop();
});

Deno.test("a hanging step is cancelled at the pass timeout and the next pass never overlaps it", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const loop = loopWith({
    passTimeoutMs: 50,
    execute: (_step, signal) => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // A Docker call that never answers until it is cancelled.
      return new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          inFlight--;
          resolve({ failures: [{ runtime: "a", error: "cancelled" }] });
        }, { once: true });
      });
    },
  });
  const first = loop.trigger("one");
  const second = loop.trigger("two"); // queued while the first hangs
  await Promise.all([first, second]);
  assert.equal(inFlight, 0, "the cancelled call has finished when the pass ends");
  assert.equal(maxInFlight, 1, "passes never overlap");
  assert.ok(calls >= 1);
  loop.stop();
});

Deno.test("a step failing after a create's settle is not rolled back; one before it is", async () => {
  for (const failing of ["dhcp_ensure", "create_container"] as const) {
    let b: DesiredRuntime = {
      ...A,
      name: "b",
      phase: "creating",
      vnics: [{
        name: "eth0",
        parent_interface: "ens37",
        network_mode: "dhcp",
        mac_address: "02:42:ac:11:00:0b",
        parent_subnet: "10.9.8.0/24",
      }],
    };
    const executed: string[] = [];
    const loop = loopWith({
      desired: () => [b],
      observe: () => Promise.resolve({ ...observedStopped(), containers: [], networks: [] }),
      execute: (step) => {
        executed.push(step.kind);
        // The executor's settle ends a first create (desired phase `ready`).
        if (step.kind === "settle") b = { ...b, phase: "ready" };
        if (step.kind === failing) {
          return Promise.resolve({ failures: [{ runtime: "b", error: `${failing} refused` }] });
        }
        return Promise.resolve({ failures: [] });
      },
    });
    await loop.trigger("create");
    if (failing === "dhcp_ensure") {
      assert.ok(executed.includes("dhcp_ensure"), executed.join(","));
      assert.ok(!executed.includes("fail_create"), `no rollback: ${executed.join(",")}`);
    } else {
      assert.ok(executed.includes("fail_create"), `rolled back: ${executed.join(",")}`);
    }
  }
});
