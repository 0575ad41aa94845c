import assert from "node:assert/strict";
import { pickSubnet } from "./internal_pool.ts";

Deno.test("pickSubnet: first free /28, skipping overlaps of any size", () => {
  assert.equal(pickSubnet([]), "172.30.240.0/28");
  assert.equal(pickSubnet(["172.30.240.0/28"]), "172.30.240.16/28");
  assert.equal(pickSubnet(["172.30.240.0/28", "172.30.240.32/28"]), "172.30.240.16/28");
  assert.equal(pickSubnet(["172.30.240.0/24"]), "172.30.241.0/28");
  assert.equal(pickSubnet(["172.16.0.0/12"]), null, "a network covering the pool leaves nothing");
  assert.equal(pickSubnet(["fd00::/64", "garbage"]), "172.30.240.0/28");
  assert.equal(pickSubnet(["10.0.0.0/30"], "10.0.0.0/29", 30), "10.0.0.4/30");
});
