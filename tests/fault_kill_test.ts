/**
 * Fault tier, kill -9: the agent is SIGKILLed at seeded random points of create, delete and
 * re-wiring (21 trials, one runtime at a time so each trial stays cheap), restarted, and must
 * converge: what the cloud last asked for exists and runs (or is gone), on the MACVLAN network of
 * the parent's current subnet with its MAC kept; no object with our label that nobody wants;
 * `runtime_vnics.json` valid. Then kill -9 in the middle of re-wiring 10 runtimes (issue 6).
 * Replay a run with `FAULT_SEED=<printed seed>`.
 */
import assert from "node:assert/strict";
import { RuntimeVnicsFile } from "../contracts/mod.ts";
import {
  ensureStandin,
  freeNets,
  makeParent as makeVethParent,
  type Parent,
  sh,
  skipReason,
} from "./docker_helpers.ts";
import { eventually, managedObjects, SEED, seeded } from "./fault_common.ts";
import { inside, removeByPrefix, type Stack, startStack } from "./stack_helpers.ts";

const skip = await skipReason();
if (skip) console.log(`fault_kill_test: skipped: ${skip}`);

const PARENT = "eofk0";
const NS = `${PARENT}ns`;
const PREFIX = "eofk-";
/** Host-side ranges: /24s that overlap no route or needed address (tests/README.md). */
const SUBNETS = await freeNets(2);
const netOf = (i: number) => `macvlan_${PARENT}_${SUBNETS[i]}.0_24`;
/** netmon debounce in these tests, ms: short so a re-wiring starts soon after the move. */
const DEBOUNCE = 300;
/** Longest seeded delay before the kill, ms: a create or delete of one runtime takes ~1 s here. */
const MAX_DELAY = 1_500;
/** Convergence bound after a restart, ms: reconciler pass + create/rewire of a few runtimes. */
const CONVERGE_MS = 45_000;

/** The MACVLAN parent: a veth whose peer sits in namespace `${PARENT}ns`. */
function makeParent(): Promise<Parent> {
  return makeVethParent(PARENT, `${SUBNETS[0]}.250/24`, `${SUBNETS[0]}.0/24`);
}

/** Moves the parent's host address from subnet `from` to subnet `to`. */
async function moveParent(from: number, to: number): Promise<void> {
  await sh("ip", "addr", "del", `${SUBNETS[from]}.250/24`, "dev", PARENT);
  await sh("ip", "addr", "add", `${SUBNETS[to]}.250/24`, "dev", PARENT);
}

async function cleanup(stack: Stack | null, dir: string): Promise<void> {
  await stack?.stop().catch(() => {});
  await removeByPrefix([PREFIX, `macvlan_${PARENT}_`]);
  await sh("ip", "link", "del", PARENT).catch(() => {});
  await sh("ip", "netns", "del", NS).catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** LAN-facing MACs inside a runtime's namespace (every link but the internal bridge's). */
async function lanMacs(name: string): Promise<string[]> {
  const x = await inside(name);
  return Object.values(x.links).filter((m) => m !== x.internalMac).sort();
}

/** Asserts (throwing while not yet true) that the stack converged on `wanted` in subnet `net`. */
async function converged(
  s: Stack,
  wanted: Set<string>,
  gone: string[],
  net: number,
  macs: Map<string, string[]>,
): Promise<void> {
  for (const id of wanted) {
    const st = await s.send("get_device_status", { device_id: id });
    assert.equal(st.status, "success", `${id}: ${JSON.stringify(st)}`);
    assert.equal(st.is_running, true, `${id} runs`);
    assert.deepEqual(Object.keys(st.networks as object), [netOf(net)], `${id} on ${netOf(net)}`);
    const mac = await lanMacs(id);
    if (!macs.has(id)) macs.set(id, mac);
    assert.deepEqual(mac, macs.get(id), `${id} kept its MAC inside its namespace`);
  }
  for (const id of gone) {
    const st = await s.send("get_device_status", { device_id: id });
    assert.equal(st.status, "not_found", `${id} is gone: ${JSON.stringify(st)}`);
  }
  const objs = await managedObjects();
  const ours = (n: string) => n.startsWith(PREFIX) || n.startsWith(`macvlan_${PARENT}_`);
  assert.deepEqual(objs.containers.filter(ours), [...wanted].sort(), "no orphaned container");
  const nets = [...[...wanted].map((w) => `${w}_internal`), ...(wanted.size ? [netOf(net)] : [])];
  assert.deepEqual(objs.networks.filter(ours), nets.sort(), "no orphaned network");
  const file = RuntimeVnicsFile.parse(
    JSON.parse(await Deno.readTextFile(`${s.stateDir}/runtime_vnics.json`)),
  );
  assert.deepEqual(Object.keys(file).filter(ours).sort(), [...wanted].sort(), "vnics file keys");
}

const vnic = { name: "eth0", parent_interface: PARENT, network_mode: "dhcp" };

Deno.test({
  name: "kill -9 during create, delete and re-wiring: 21 seeded trials converge",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    console.log(`  fault_kill seed ${SEED} (replay: FAULT_SEED=${SEED})`);
    const random = seeded(SEED);
    const dir = await Deno.makeTempDir({ prefix: "eo-fkill-" });
    let stack: Stack | null = null;
    try {
      await makeParent();
      stack = await startStack(dir, DEBOUNCE);
      const s = stack;
      const wanted = new Set<string>();
      const gone: string[] = [];
      const macs = new Map<string, string[]>();
      let net = 0;
      let trial = 0;
      const kill = async (kind: string, action: () => Promise<unknown>, max = MAX_DELAY) => {
        const delay = Math.floor(random() * max);
        const t0 = performance.now();
        console.log(`  trial ${trial + 1} ${kind}: SIGKILL after ${delay} ms`);
        await action();
        await new Promise((r) => setTimeout(r, delay));
        await s.restartAgent(true);
        try {
          await eventually(() => converged(s, wanted, gone, net, macs), CONVERGE_MS);
        } catch (err) {
          console.log(s.agent.output().split("\n").slice(-60).join("\n"));
          throw err;
        }
        console.log(
          `  trial ${++trial} ${kind}: converged ${
            Math.round(performance.now() - t0)
          } ms after the command`,
        );
      };
      // Seven rounds of create (r), re-wire, delete (r - 1): 20 trials, then the last delete.
      for (let r = 0; r < 7; r++) {
        const id = `${PREFIX}${r}`;
        wanted.add(id);
        await kill(
          "create",
          () => s.send("create_new_runtime", { container_name: id, vnic_configs: [vnic] }),
        );
        const from = net;
        net = 1 - net;
        await kill("rewire", () => moveParent(from, net), DEBOUNCE + MAX_DELAY);
        if (r > 0) {
          const old = `${PREFIX}${r - 1}`;
          wanted.delete(old);
          gone.push(old);
          await kill("delete", () => s.send("delete_device", { device_id: old }));
        }
      }
      const last = `${PREFIX}6`;
      wanted.delete(last);
      gone.push(last);
      await kill("delete", () => s.send("delete_device", { device_id: last }));
      assert.equal(trial, 21);
    } finally {
      await cleanup(stack, dir);
    }
  },
});

Deno.test({
  name: "kill -9 in the middle of re-wiring 10 runtimes: all on the new network, MACs kept",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    const random = seeded(SEED + 1);
    const dir = await Deno.makeTempDir({ prefix: "eo-fkill10-" });
    let stack: Stack | null = null;
    const ids = Array.from({ length: 10 }, (_, i) => `${PREFIX}m${i}`);
    try {
      await makeParent();
      stack = await startStack(dir, DEBOUNCE);
      const s = stack;
      // One after another: this test is about the kill during re-wiring, not parallel creates
      // (tests/docker_ops_test.ts covers those).
      for (const id of ids) {
        await s.send("create_new_runtime", { container_name: id, vnic_configs: [vnic] });
        await s.waitStatus(id, (x) => x.is_running === true);
      }
      const before = new Map<string, { macs: string[]; startedAt: string }>();
      for (const id of ids) {
        await s.waitStatus(id, (x) => x.is_running === true && netOf(0) in (x.networks as object));
        const x = await inside(id);
        before.set(id, { macs: await lanMacs(id), startedAt: x.startedAt });
      }
      // The batch starts after the debounce and takes a few hundred ms for 10 runtimes: kill
      // somewhere inside [debounce, debounce + 800 ms].
      const delay = DEBOUNCE + Math.floor(random() * 800);
      const t0 = performance.now();
      await moveParent(0, 1);
      await new Promise((r) => setTimeout(r, delay));
      const seen = (await managedObjects()).networks.filter((n) => n.startsWith("macvlan_eofk0"));
      await s.restartAgent(true);
      console.log(`  SIGKILL ${delay} ms after the move (networks then: ${seen.join(", ")})`);
      const macs = new Map([...before].map(([k, v]) => [k, v.macs]));
      await eventually(() => converged(s, new Set(ids), [], 1, macs), CONVERGE_MS);
      console.log(
        `  10 runtimes converged ${Math.round(performance.now() - t0)} ms after the move`,
      );
      for (const id of ids) {
        assert.equal(
          (await inside(id)).startedAt,
          before.get(id)!.startedAt,
          `${id} not restarted`,
        );
      }
    } finally {
      await cleanup(stack, dir);
    }
  },
});
