import assert from "node:assert/strict";
import fc from "fast-check";
import { networkOf } from "../contracts/mod.ts";
import { subnetOf } from "./ipv4_net.ts";

Deno.test("subnetOf agrees with contracts' networkOf", () => {
  assert.deepEqual(subnetOf("198.51.100.77", 24), {
    subnet: "198.51.100.0/24",
    network: "198.51.100.0",
  });
  assert.equal(subnetOf("192.0.2.10", 0).subnet, "0.0.0.0/0");
  assert.equal(subnetOf("192.0.2.10", 32).subnet, "192.0.2.10/32");
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (a, len) => {
      assert.equal(subnetOf(a, len).subnet, networkOf(a, len));
    }),
    { numRuns: 2000 },
  );
});
