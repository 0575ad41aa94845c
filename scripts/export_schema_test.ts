import assert from "node:assert/strict";
import { buildSchemas, schemaDir } from "./export_schema.ts";

Deno.test("checked-in JSON Schemas are up to date (run `deno task schema`)", async () => {
  const expected = buildSchemas();
  const present = new Set<string>();
  for await (const entry of Deno.readDir(schemaDir)) present.add(entry.name);
  assert.deepEqual([...present].sort(), [...expected.keys()].sort());
  for (const [name, text] of expected) {
    const actual = await Deno.readTextFile(new URL(name, schemaDir));
    assert.equal(actual, text, `contracts/schema/${name} is stale: run deno task schema`);
  }
});
