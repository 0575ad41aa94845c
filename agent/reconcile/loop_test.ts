import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { Reconciler } from "./loop.ts";
import { ProblemBoard } from "./problems.ts";
import type { Observed, Step } from "./types.ts";

function observedStopped(): Observed {
  return {
    containers: [{
      id: "a",
      name: "a",
      image: "",
      labels: {},
      status: "exited",
      running: false,
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

function setup(running: { value: boolean }) {
  const executed: Step[] = [];
  let observes = 0;
  const loop = new Reconciler({
    observe: () => {
      observes++;
      const o = observedStopped();
      o.containers[0]!.running = running.value;
      return Promise.resolve(o);
    },
    desired: () => [{ name: "a", running: true, vnics: [] }],
    busy: () => new Set(),
    execute: (step) => {
      executed.push(step);
      running.value = true;
      return Promise.resolve({ step, failures: [] });
    },
    problems: new ProblemBoard(),
    log: silentLogger,
  });
  return { loop, executed, observes: () => observes };
}

Deno.test("a stopped runtime is started, then the loop converges and stays quiet", async () => {
  const running = { value: false };
  const { loop, executed, observes } = setup(running);
  await loop.trigger("start");
  assert.deepEqual(executed, [{ kind: "start", runtime: "a" }]);
  const before = observes();
  await loop.trigger("timer");
  assert.equal(executed.length, 1, "converged: nothing more to do");
  assert.equal(observes(), before + 1, "one observation, no planning work");
});

Deno.test("triggers while processing coalesce into one follow-up pass", async () => {
  const running = { value: false };
  const { loop } = setup(running);
  const a = loop.trigger("one");
  const b = loop.trigger("two");
  const c = loop.trigger("three");
  await Promise.all([a, b, c]);
  assert.equal(loop.passes, 2);
});

Deno.test("a failing step is not retried before its time (no hot loop)", async () => {
  const executed: string[] = [];
  const failing = new Reconciler({
    observe: () => Promise.resolve(observedStopped()),
    desired: () => [{ name: "a", running: true, vnics: [] }],
    busy: () => new Set(),
    execute: (step) => {
      executed.push(step.kind);
      return Promise.resolve({ step, failures: [{ runtime: "a", error: "cannot start" }] });
    },
    problems: new ProblemBoard(),
    log: silentLogger,
  });
  await failing.trigger("one");
  await failing.trigger("two");
  await failing.trigger("three");
  assert.deepEqual(executed, ["start"], "tried once; the retry waits 2 s");
});

Deno.test("a step Docker refuses shows in the runtime's problems until it works", async () => {
  let refuse = true;
  const problems = new ProblemBoard();
  const loop = new Reconciler({
    observe: () => Promise.resolve(observedStopped()),
    desired: () => [{ name: "a", running: true, vnics: [] }],
    busy: () => new Set(),
    execute: (step) =>
      Promise.resolve({
        step,
        failures: refuse ? [{ runtime: "a", error: "network id 85d4 not found" }] : [],
      }),
    problems,
    log: silentLogger,
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
});
