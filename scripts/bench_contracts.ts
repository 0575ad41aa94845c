/**
 * Contracts throughput: messages validated per second through `parseMessage`, for valid and
 * invalid payloads, against a baseline measured in the same run (JSON round trip of the same
 * payloads: the cost the agent pays anyway to receive a message). Prints one JSON line.
 *
 * @module
 */
import { parseMessage, type TopicName } from "../contracts/mod.ts";

const golden: Record<
  TopicName,
  { valid: { payload: unknown }[]; invalid: { payload: unknown }[] }
> = JSON.parse(
  await Deno.readTextFile(new URL("../contracts/testdata/golden.json", import.meta.url)),
);

const cases = (Object.keys(golden) as TopicName[]).flatMap((topic) => [
  ...golden[topic].valid.map((c) => ({ topic, payload: c.payload, valid: true })),
  ...golden[topic].invalid.map((c) => ({ topic, payload: c.payload, valid: false })),
]);

/** Runs `fn` over every case for about `ms` and returns operations per second. */
function rate(ms: number, fn: (c: typeof cases[number]) => void): number {
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (const c of cases) fn(c);
    ops += cases.length;
  }
  return ops / ((performance.now() - start) / 1000);
}

// Warm-up so the JIT has compiled both paths before we measure.
rate(300, (c) => parseMessage(c.topic, c.payload));
const baseline = rate(1500, (c) => JSON.parse(JSON.stringify(c.payload)));
const validate = rate(1500, (c) => parseMessage(c.topic, c.payload));
const validOnly = cases.filter((c) => c.valid);
let n = 0;
const start = performance.now();
while (performance.now() - start < 1500) {
  for (const c of validOnly) parseMessage(c.topic, c.payload);
  n += validOnly.length;
}
const validRate = n / ((performance.now() - start) / 1000);

console.log(JSON.stringify({
  messages_per_s: Math.round(validate),
  valid_messages_per_s: Math.round(validRate),
  json_roundtrip_per_s: Math.round(baseline),
  cost_vs_json_roundtrip: Number((baseline / validate).toFixed(2)),
  cases: cases.length,
}));
