/**
 * Property tests: for every topic, 10,000 random or mutated payloads. The parse never throws,
 * and every failure is an error ack whose problems name real field paths.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseMessage, TOPIC_NAMES, type TopicName, TOPICS } from "./mod.ts";

const RUNS = 10_000;
const golden: Record<TopicName, { valid: { payload: Record<string, unknown> }[] }> = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/golden.json", import.meta.url)),
);

function knownFields(topic: TopicName): Set<string> {
  const shape = (TOPICS[topic].request as unknown as { shape?: Record<string, unknown> }).shape;
  return new Set(Object.keys(shape ?? {}));
}

/** Replaces or deletes the value at a random path of a JSON value. */
function mutate(value: unknown, choices: number[], replacement: unknown): unknown {
  if (value === null || typeof value !== "object" || choices.length === 0) return replacement;
  const [pick, ...rest] = choices as [number, ...number[]];
  if (Array.isArray(value)) {
    if (value.length === 0) return [replacement];
    const i = pick % value.length;
    const copy = [...value];
    copy[i] = mutate(copy[i], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[pick % keys.length]!;
  const copy: Record<string, unknown> = { ...value as Record<string, unknown> };
  if (pick % 5 === 0) delete copy[key];
  else copy[key] = mutate(copy[key], rest, replacement);
  return copy;
}

for (const topic of TOPIC_NAMES) {
  Deno.test(`${topic}: ${RUNS} random and mutated payloads never throw`, () => {
    const fields = knownFields(topic);
    assert.ok(fields.size > 0);
    const bases = golden[topic].valid.map((c) => c.payload);
    const payload = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.constantFrom(...fields, "x"), fc.jsonValue()),
      fc.tuple(
        fc.constantFrom(...bases),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.oneof(fc.jsonValue(), fc.string(), fc.constant(undefined)),
      ).map(([base, choices, repl]) => mutate(base, choices, repl)),
    );
    let failures = 0;
    fc.assert(
      fc.property(payload, (p) => {
        const r = parseMessage(topic, p);
        if (r.ok) return;
        failures++;
        assert.equal(r.ack.status, "error");
        assert.equal(r.ack.action, topic);
        assert.match(r.ack.error, /^(Missing required field|Invalid field type): \S/);
        assert.ok(r.ack.errors && r.ack.errors.length > 0);
        for (const e of r.ack.errors) {
          const root = e.path.split(/[.[]/)[0]!;
          assert.ok(e.path === "" || fields.has(root), `unknown path "${e.path}"`);
        }
      }),
      { numRuns: RUNS, seed: 42 },
    );
    assert.ok(failures > RUNS / 10, "the generator should produce many invalid payloads");
  });
}
