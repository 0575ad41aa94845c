import assert from "node:assert/strict";
import { Heartbeat, parseMessage, TOPIC_NAMES, type TopicName, TOPICS } from "./mod.ts";
import { drifts, helperText, loadGoldenAcks, shapeDiff, valueAt } from "./testdata/drift.ts";

interface Case {
  name: string;
  payload: unknown;
  expect?: { error?: string; errorPrefix?: string } & Record<string, unknown>;
}
type Golden = Record<TopicName, { valid: Case[]; invalid: Case[] }>;

const golden: Golden = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/golden.json", import.meta.url)),
);

Deno.test("golden files cover every topic with valid and invalid messages", () => {
  for (const topic of TOPIC_NAMES) {
    assert.ok(golden[topic]?.valid.length, `no valid golden for ${topic}`);
    assert.ok(golden[topic]?.invalid.length, `no invalid golden for ${topic}`);
  }
});

for (const topic of TOPIC_NAMES) {
  for (const c of golden[topic]?.valid ?? []) {
    Deno.test(`${topic}: valid ${c.name}`, () => {
      const r = parseMessage(topic, c.payload);
      assert.ok(r.ok, r.ok ? "" : r.ack.error);
      if (c.expect) {
        for (const [key, value] of Object.entries(c.expect)) {
          assert.deepEqual((r.message as unknown as Record<string, unknown>)[key], value, key);
        }
      }
    });
  }
  for (const c of golden[topic]?.invalid ?? []) {
    Deno.test(`${topic}: invalid ${c.name}`, () => {
      const r = parseMessage(topic, c.payload);
      assert.ok(!r.ok, "should have been refused");
      assert.equal(r.ack.action, topic);
      assert.equal(r.ack.status, "error");
      const cid = (c.payload as { correlation_id?: unknown }).correlation_id;
      assert.equal(r.ack.correlation_id, typeof cid === "number" ? cid : null);
      if (c.expect?.error) assert.equal(r.ack.error, c.expect.error);
      if (c.expect?.errorPrefix) {
        assert.ok(
          r.ack.error.startsWith(c.expect.errorPrefix),
          `"${r.ack.error}" should start with "${c.expect.errorPrefix}"`,
        );
      }
      assert.ok(r.ack.errors && r.ack.errors.length > 0);
    });
  }
}

Deno.test("every problem is listed, not only the first", () => {
  const r = parseMessage("create_new_runtime", {
    container_name: 5,
    vnic_configs: [{ name: "a", network_mode: "x" }],
  });
  assert.ok(!r.ok);
  const paths = r.ack.errors!.map((e) => e.path).sort();
  assert.deepEqual(paths, [
    "container_name",
    "vnic_configs[0].network_mode",
    "vnic_configs[0].parent_interface",
  ]);
  assert.equal(r.ack.error, "Missing required field: vnic_configs[0].parent_interface");
});

Deno.test("non-object payloads get an error ack, never an exception", () => {
  for (const payload of [null, undefined, 1, "x", [], [1], true]) {
    const r = parseMessage("get_device_status", payload);
    assert.ok(!r.ok);
    assert.match(r.ack.error, /^Invalid field type: message must be a JSON object/);
    assert.equal(r.ack.correlation_id, null);
  }
});

// Recorded acks of the original (testdata/golden_acks.json): each passes its topic's ack schema,
// every drift of it is refused, and the texts come out of the contracts' helpers unchanged.
const acks = await loadGoldenAcks();

Deno.test("recorded acks cover every topic", () => {
  for (const topic of TOPIC_NAMES) {
    assert.ok(acks.topics[topic]?.acks.length, `no recorded ack for ${topic}`);
  }
  for (const topic of Object.keys(acks.topics)) {
    assert.ok((TOPIC_NAMES as string[]).includes(topic), `${topic} is not a topic`);
  }
});

for (const topic of TOPIC_NAMES) {
  for (const c of acks.topics[topic]?.acks ?? []) {
    Deno.test(`${topic}: recorded ack "${c.name}" passes the schema; drifts are refused`, () => {
      const schema = TOPICS[topic].ack;
      const r = schema.safeParse(c.ack);
      assert.ok(r.success, r.success ? "" : JSON.stringify(r.error.issues));
      assert.deepEqual(r.data, c.ack, "the schema must not drop or change anything");
      const accepted = drifts(c).filter((d) => schema.safeParse(d.ack).success);
      assert.deepEqual(accepted.map((d) => d.label), [], "drifts the schema let through");
      for (const t of c.texts ?? []) {
        assert.equal(helperText(t), valueAt(c.ack, t.path), `${t.helper} for ${t.path}`);
      }
    });
  }
}

for (const c of acks.events.heartbeat?.acks ?? []) {
  Deno.test(`heartbeat: recorded "${c.name}" passes the schema; drifts are refused`, () => {
    assert.deepEqual(Heartbeat.parse(c.ack), c.ack);
    const accepted = drifts(c).filter((d) => Heartbeat.safeParse(d.ack).success);
    assert.deepEqual(accepted.map((d) => d.label), []);
  });
}

Deno.test("shapeDiff finds missing and extra keys, other types, fractions for integers", () => {
  const c = acks.topics.get_consumption_device!.acks.find((a) => a.name === "success")!;
  const ack = c.ack as Record<string, unknown>;
  const table: [string, unknown, string[]][] = [
    ["same", ack, []],
    ["fraction", { ...ack, cpu_usage: [{ timestamp: 1, cpu: 1.5 }] }, [
      "cpu_usage[].cpu: number, the original has integer",
    ]],
    ["missing", { ...ack, memory: undefined, cpu: undefined }, []],
    ["extra", { ...ack, status: "success" }, ["status: not in the original's ack"]],
    ["type", { ...ack, memory: 512 }, ["memory: integer, the original has string"]],
  ];
  const clean = (v: unknown) => JSON.parse(JSON.stringify(v));
  for (const [name, ours, want] of table) {
    const got = shapeDiff(c, clean(ours));
    if (name === "missing") assert.deepEqual(got, ["memory: missing", "cpu: missing"], name);
    else assert.deepEqual(got, want, name);
  }
});
