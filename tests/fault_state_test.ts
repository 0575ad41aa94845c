/**
 * Fault tier, state on disk. Torn writes: `runtime_vnics.json`, `runtimes.json` and the
 * consumption journal (`<state-dir>/metrics/journal.log`) are truncated at seeded random offsets
 * while the agent is stopped (the journal inside one of its batches); it starts, says so in its
 * log, rebuilds the state from Docker labels (the unreadable file kept aside), cuts the journal
 * back to its last whole batch, and the runtime keeps its MAC and network. Disk full: the state
 * directory is a 2 MiB tmpfs filled to the last byte; the agent keeps running and answering,
 * refuses the create it cannot record with a clear error, and works again once space returns.
 */
import assert from "node:assert/strict";
import { RuntimeVnicsFile } from "../contracts/mod.ts";
import { BATCH_HEADER, decodeJournal } from "../agent/metrics/journal.ts";
import {
  ensureStandin,
  makeParent as makeVethParent,
  type Parent,
  sh,
  skipReason,
} from "./docker_helpers.ts";
import { eventually, managedObjects, SEED, seeded } from "./fault_common.ts";
import { removeByPrefix, type Stack, startStack } from "./stack_helpers.ts";

const skip = await skipReason();
if (skip) console.log(`fault_state_test: skipped: ${skip}`);

const PARENT = "eofs0";
const NS = `${PARENT}ns`;
const NET = `macvlan_${PARENT}_198.51.100.0_24`;
/** Torn-write rounds: each costs one agent restart (~2 s). */
const ROUNDS = 3;

/** The MACVLAN parent: a veth whose peer sits in namespace `${PARENT}ns`. */
function makeParent(): Promise<Parent> {
  return makeVethParent(PARENT, "198.51.100.250/24", "198.51.100.0/24");
}

async function cleanup(stack: Stack | null, dir: string, ids: string[]): Promise<void> {
  if (stack) {
    for (const id of ids) await stack.send("delete_device", { device_id: id }).catch(() => {});
    for (const id of ids) {
      await stack.waitStatus(id, (x) => x.status === "not_found", 30_000).catch(() => {});
    }
  }
  await stack?.stop().catch(() => {});
  await removeByPrefix(["eofs-", NET]);
  await sh("ip", "link", "del", PARENT).catch(() => {});
  await sh("ip", "netns", "del", NS).catch(() => {});
  await sh("umount", "-l", `${dir}/state`).catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Truncates `path` to a seeded offset in [0, size - 2] (so the file is always damaged). */
async function tear(path: string, random: () => number): Promise<number> {
  const size = (await Deno.stat(path)).size;
  const at = Math.floor(random() * Math.max(1, size - 1));
  await Deno.truncate(path, at);
  return at;
}

/** Truncates the consumption journal inside one of its batches (seeded): a cut between two
 * batches would be a valid, shorter journal. Returns the cut and where that batch starts. */
async function tearJournal(
  path: string,
  random: () => number,
): Promise<{ at: number; batch: number }> {
  const j = decodeJournal(await Deno.readFile(path));
  assert.equal(j.bad, null, "the journal is whole before the cut");
  assert.ok(j.batches.length > 0, "samples were journaled");
  const ends = [...j.batches.slice(1).map((b) => b.offset), j.good];
  const i = Math.floor(random() * j.batches.length);
  const start = j.batches[i]!.offset;
  const len = ends[i]! - start;
  assert.ok(len > BATCH_HEADER);
  const at = start + 1 + Math.floor(random() * (len - 1));
  await Deno.truncate(path, at);
  return { at, batch: start };
}

const vnic = { name: "eth0", parent_interface: PARENT, network_mode: "dhcp" };

Deno.test({
  name: "torn state files and buffers: the agent starts, says so, rebuilds from Docker labels",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    console.log(`  fault_state seed ${SEED} (replay: FAULT_SEED=${SEED})`);
    const random = seeded(SEED + 2);
    const dir = await Deno.makeTempDir({ prefix: "eo-fstate-" });
    let stack: Stack | null = null;
    try {
      await makeParent();
      stack = await startStack(dir, 300);
      const s = stack;
      await s.send("create_new_runtime", { container_name: "eofs-a", vnic_configs: [vnic] });
      await s.waitStatus("eofs-a", (x) => x.is_running === true && NET in (x.networks as object));
      const vnicsPath = `${s.stateDir}/runtime_vnics.json`;
      const good = RuntimeVnicsFile.parse(JSON.parse(await Deno.readTextFile(vnicsPath)));
      const mac = good["eofs-a"]![0]!.mac_address;
      const journalPath = `${s.stateDir}/metrics/journal.log`;
      let since = Date.now() / 1000;
      for (let round = 0; round < ROUNDS; round++) {
        // Host samples come every 5 s: wait for one taken by this agent, so the graceful stop
        // below has samples to append to the journal (it also appends every 60 s).
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const c = await s.send("get_consumption_orchestrator", {
            cpuPeriod: "1h",
            memoryPeriod: "1h",
          });
          const points = c.cpu_usage as { timestamp: number }[];
          if (points.some((p) => p.timestamp >= Math.floor(since))) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        s.agent.kill("SIGTERM");
        await s.agent.status;
        const cuts = {
          vnics: await tear(vnicsPath, random),
          registry: await tear(`${s.stateDir}/runtimes.json`, random),
          journal: await tearJournal(journalPath, random),
        };
        console.log(`  round ${round}: torn at ${JSON.stringify(cuts)}`);
        since = Date.now() / 1000;
        await s.restartAgent(false);
        const out = s.agent.output();
        assert.match(out, /State file unreadable: kept aside, rebuilding from Docker labels/);
        assert.match(out, /runtime_vnics\.json/);
        assert.match(out, /runtimes\.json/);
        assert.match(out, /Consumption journal .*journal\.log: torn batch/);
        // Cut back to the last whole batch at start, before anything is appended behind it.
        const journal = decodeJournal(await Deno.readFile(journalPath));
        assert.equal(journal.bad, null, "no garbage left in the journal");
        assert.ok(journal.good >= cuts.journal.batch);
        // The runtime is adopted by the first reconciliation pass (it may follow the connection).
        await eventually(() => {
          assert.match(s.agent.output(), /vNICs rebuilt from container labels/);
          return Promise.resolve();
        }, 10_000);
        const st = await s.waitStatus("eofs-a", (x) => x.is_running === true);
        assert.deepEqual(Object.keys(st.networks as object), [NET]);
        const file = await eventually(async () => {
          const f = RuntimeVnicsFile.parse(JSON.parse(await Deno.readTextFile(vnicsPath)));
          assert.ok(f["eofs-a"]);
          return f;
        }, 10_000);
        assert.equal(file["eofs-a"]![0]!.mac_address, mac, "MAC rebuilt from the labels");
        const aside = [...Deno.readDirSync(s.stateDir)].filter((e) => /unreadable-/.test(e.name));
        assert.ok(aside.length >= 2 * (round + 1), "unreadable files kept aside, not overwritten");
        const usage = await s.send("get_consumption_orchestrator", {
          cpuPeriod: "1h",
          memoryPeriod: "1h",
        });
        assert.ok(Array.isArray(usage.cpu_usage), "buffers answer after a torn file");
      }
    } finally {
      await cleanup(stack, dir, ["eofs-a"]);
    }
  },
});

Deno.test({
  name: "disk full on the state directory: keeps answering, clear error, recovers",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    const dir = await Deno.makeTempDir({ prefix: "eo-ffull-" });
    let stack: Stack | null = null;
    try {
      await Deno.mkdir(`${dir}/state`);
      // 2 MiB: room for the state files, logs and buffers of a short test, small to fill.
      await sh("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", `${dir}/state`);
      stack = await startStack(dir, 300);
      const s = stack;
      const fill = `${s.stateDir}/fill`;
      // dd stops with "No space left on device" (exit 1) once the tmpfs is full.
      await sh("dd", "if=/dev/zero", `of=${fill}`, "bs=4k").catch(() => {});
      const df = await sh("df", "--output=avail", "-B1", s.stateDir);
      console.log(`  state dir full: ${df.trim().split("\n")[1]} bytes left`);
      await s.send("create_new_runtime", { container_name: "eofs-full", vnic_configs: [] });
      const failed = await s.waitStatus("eofs-full", (x) => x.status !== "creating", 30_000);
      console.log(`  create on a full disk: ${JSON.stringify(failed)}`);
      assert.equal(failed.status, "error");
      assert.match(String(failed.error), /No space left on device|ENOSPC|os error 28/i);
      // Still answering, heartbeating, and left nothing behind.
      const ifs = await s.send("get_host_interfaces", {});
      assert.equal(ifs.status, "success");
      const beats = s.cloud.heartbeats("stack-agent").length;
      await new Promise((r) => setTimeout(r, 2_500));
      assert.ok(s.cloud.heartbeats("stack-agent").length > beats, "heartbeats continue");
      await eventually(async () => {
        const objs = await managedObjects();
        assert.deepEqual(objs.containers.filter((n) => n.startsWith("eofs-")), []);
        assert.deepEqual(objs.networks.filter((n) => n.startsWith("eofs-")), []);
      }, 30_000);
      await Deno.remove(fill);
      await s.send("create_new_runtime", { container_name: "eofs-full", vnic_configs: [] });
      const ok = await s.waitStatus("eofs-full", (x) => x.is_running === true, 60_000);
      assert.equal(ok.status, "success", "works again once space returns");
      const reg = JSON.parse(await Deno.readTextFile(`${s.stateDir}/runtimes.json`));
      assert.ok(reg.runtimes["eofs-full"], "recorded once space returned");
    } finally {
      await cleanup(stack, dir, ["eofs-full"]);
    }
  },
});
