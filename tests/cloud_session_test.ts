/**
 * Cloud tier (openssl, loopback): every topic round-trips through the real agent over mTLS;
 * invalid and non-object payloads; a 1,000-message malformed burst; heartbeat cadence and
 * contract; consumption samples survive an agent restart.
 */
import assert from "node:assert/strict";
import { ErrorAck, Heartbeat, TOPIC_NAMES, TOPICS } from "../contracts/mod.ts";
import { quietCloud, sleep, startAgent, stopAgent } from "./cloud_helpers.ts";
import { decodeJournal } from "../agent/metrics/journal.ts";

const ID = "dev-session";

function valid(topic: string, cid: number): Record<string, unknown> {
  const dev = { correlation_id: cid, device_id: "plc1" };
  switch (topic) {
    case "create_new_runtime":
      return { correlation_id: cid, container_name: "plc1", vnic_configs: [] };
    case "run_command":
      return { ...dev, method: "GET", api: "/api/status" };
    case "get_consumption_device":
      return { ...dev, cpuPeriod: "1h", memoryPeriod: "1h" };
    case "get_consumption_orchestrator":
      return { correlation_id: cid, cpuPeriod: "1h", memoryPeriod: "1h" };
    case "delete_orchestrator":
    case "get_host_interfaces":
      return { correlation_id: cid };
    default:
      return dev;
  }
}

Deno.test("cloud session: topics, validation, burst, heartbeats, restart keeps samples", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "cloud_session_" });
  const cloud = await quietCloud(`${dir}/cloud`);
  const mtls = await cloud.issueDevice(ID);
  const stateDir = `${dir}/state`;
  let agent = startAgent({ url: cloud.url, mtlsDir: mtls, serverCa: cloud.caFile, stateDir });
  try {
    await cloud.waitForAgent(ID, 20_000);

    await t.step("every topic round-trips", async () => {
      let cid = 100;
      // delete_orchestrator's valid form self-destructs the agent: tests/docker_self_destruct_test.ts.
      for (const topic of TOPIC_NAMES.filter((t) => t !== "delete_orchestrator")) {
        const ack = await cloud.send(ID, topic, valid(topic, ++cid)) as Record<string, unknown>;
        assert.equal(ack.action, topic);
        assert.equal(ack.correlation_id, cid);
        TOPICS[topic].ack.parse(ack);
        if (topic === "get_consumption_orchestrator") {
          assert.equal(typeof ack.memory, "number");
          assert.ok((ack.cpu as number) >= 1);
          assert.ok(Array.isArray(ack.ip_addresses));
        } else {
          // Docker topics are wired: a real answer (the runtime "plc1" may not exist, and no
          // runtime image is available to this agent), never the placeholder.
          assert.doesNotMatch(String(ack.error ?? ""), /is not available/, topic);
        }
      }
    });

    await t.step("invalid messages: error ack with field paths; non-object payloads", async () => {
      const bad = await cloud.send(ID, "create_new_runtime", {
        correlation_id: 5,
        container_name: "plc1",
        vnic_configs: [{ name: "e0", parent_interface: "ens37", network_mode: "dhcp" }, {
          name: "e1",
          network_mode: "x",
        }],
      }) as ErrorAck;
      ErrorAck.parse(bad);
      assert.equal(bad.correlation_id, 5);
      assert.equal(bad.error, "Missing required field: vnic_configs[1].parent_interface");
      const paths = bad.errors!.map((e) => e.path);
      assert.ok(paths.includes("vnic_configs[1].network_mode"), JSON.stringify(paths));
      for (const payload of ["text", 42, null, [1, 2], true]) {
        const ack = await cloud.send(ID, "get_device_status", payload) as ErrorAck;
        ErrorAck.parse(ack);
        assert.match(ack.error, /^Invalid field type: message must be a JSON object/);
      }
      const unknown = await cloud.send(ID, "format_disk", { correlation_id: 1 }) as ErrorAck;
      assert.equal(unknown.error, "Unknown topic: format_disk");
    });

    await t.step("1,000 malformed messages in a burst; heartbeats keep coming", async () => {
      const before = cloud.heartbeats(ID).length;
      const started = Date.now();
      // `{correlation_id, device_id: 7}` is a *valid* delete_orchestrator (it takes no fields;
      // extra ones are ignored) and would self-destruct the agent: left out of the burst.
      // Likewise every topic that takes no field (get_serial_devices): only topics for which
      // the payload is really malformed.
      const bad = { correlation_id: 0, device_id: 7, include_virtual: "no" };
      const topics = TOPIC_NAMES.filter((t) =>
        t !== "delete_orchestrator" && !TOPICS[t].request.safeParse(bad).success
      );
      const acks = await Promise.all(
        Array.from(
          { length: 1000 },
          (_, i) =>
            cloud.send(
              ID,
              topics[i % topics.length]!,
              i % 3 === 0 ? "junk" : { correlation_id: i, device_id: 7, include_virtual: "no" },
              30_000,
            ),
        ),
      ) as ErrorAck[];
      assert.ok(acks.every((a) => a.status === "error"));
      // Then keep the agent busy with valid requests for 4 s and count heartbeats meanwhile.
      while (Date.now() - started < 4_000) {
        await Promise.all(
          Array.from({ length: 50 }, () =>
            cloud.send(
              ID,
              "get_consumption_orchestrator",
              valid("get_consumption_orchestrator", 1),
            )),
        );
      }
      const during = cloud.heartbeats(ID).length - before;
      const seconds = (Date.now() - started) / 1000;
      console.log(`burst: ${seconds.toFixed(1)} s, ${during} heartbeats meanwhile`);
      assert.ok(during >= Math.floor(seconds) - 1, `only ${during} heartbeats in ${seconds} s`);
      assert.deepEqual(cloud.agents(), [ID]);
      assert.equal(cloud.connections(ID), 1);
      const ok = await cloud.send(
        ID,
        "get_consumption_orchestrator",
        valid("get_consumption_orchestrator", 77),
      ) as Record<string, unknown>;
      assert.equal(ok.correlation_id, 77);
    });

    await t.step("heartbeats: contract and cadence over >= 10 beats", async () => {
      const from = cloud.heartbeats(ID).length;
      while (cloud.heartbeats(ID).length - from < 11) await sleep(200);
      const beats = cloud.heartbeats(ID).slice(from);
      for (const b of beats) {
        const hb = Heartbeat.parse(b.payload);
        assert.equal(hb.agent_id, ID);
        assert.equal(hb.status, "online");
      }
      const gaps = beats.slice(1).map((b, i) => b.receivedAt - beats[i]!.receivedAt);
      console.log(`heartbeat gaps ms: ${gaps.join(" ")}`);
      // interval 1 s: every gap within 0.5-1.5 s (scheduling jitter on a busy CI box)
      assert.ok(gaps.every((g) => g > 500 && g < 1_500), gaps.join(","));
    });

    await t.step("agent restart keeps consumption samples", async () => {
      // Two host samples at least (5 s period) before the restart.
      await sleep(6_000);
      const before = await cloud.send(
        ID,
        "get_consumption_orchestrator",
        valid("get_consumption_orchestrator", 1),
      ) as { cpu_usage: { timestamp: number }[] };
      assert.ok(before.cpu_usage.length >= 2, JSON.stringify(before.cpu_usage));
      const first = before.cpu_usage[0]!.timestamp;
      assert.equal(await stopAgent(agent), 0);
      // The graceful stop appended the samples to the consumption journal (issue 15: snapshots
      // are written only at compaction).
      const journal = decodeJournal(await Deno.readFile(`${stateDir}/metrics/journal.log`));
      assert.equal(journal.bad, null);
      assert.ok(journal.batches.length >= 1, "one batch at least");
      const logs = [...Deno.readDirSync(`${stateDir}/logs`)].map((e) => e.name);
      assert.match(logs[0]!, /^orchestrator-logs-\d{4}-\d{2}-\d{2}\.log$/);
      assert.ok((await Deno.stat(`${stateDir}/health`)).isFile, "health file touched");
      agent = startAgent({ url: cloud.url, mtlsDir: mtls, serverCa: cloud.caFile, stateDir });
      await sleep(1_000);
      await cloud.waitForAgent(ID, 20_000);
      const after = await cloud.send(
        ID,
        "get_consumption_orchestrator",
        valid("get_consumption_orchestrator", 2),
      ) as { cpu_usage: { timestamp: number }[] };
      assert.equal(after.cpu_usage[0]!.timestamp, first);
      assert.ok(after.cpu_usage.length >= before.cpu_usage.length);
    });
  } finally {
    await stopAgent(agent);
    await cloud.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
