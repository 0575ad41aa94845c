import assert from "node:assert/strict";
import { Fleet } from "./fleet.ts";
import { sanEntries } from "./pki.ts";
import { createMessage } from "./web.ts";

Deno.test("fleet learns runtimes from creates and statuses, forgets them after a delete", () => {
  const f = new Fleet();
  f.observe("a", "create_new_runtime", { container_name: "bad" }, { status: "error" });
  assert.deepEqual(f.names("a"), []);
  f.observe("a", "create_new_runtime", { container_name: "p1", vnic_configs: [] }, {
    status: "creating",
  });
  f.observe("a", "get_device_status", { device_id: "p2" }, { status: "success" });
  f.observe("a", "get_device_status", { device_id: "ghost" }, { status: "not_found" });
  assert.deepEqual(f.names("a"), ["p1", "p2"]);
  f.observe("a", "get_device_status", { device_id: "p1" }, { status: "not_found" });
  assert.equal(f.list("a")[0]!.status?.status, "not_found", "kept until a delete was asked");
  f.observe("a", "delete_device", { device_id: "p1" }, { status: "deleting" });
  f.observe("a", "get_device_status", { device_id: "p1" }, { status: "not_found" });
  assert.deepEqual(f.names("a"), ["p2"]);
  assert.deepEqual(f.names("b"), []);
});

Deno.test("fleet refresh asks only for stale statuses", async () => {
  const f = new Fleet();
  f.observe("a", "create_new_runtime", { container_name: "p1" }, { status: "creating" });
  const asked: string[] = [];
  const send = (agent: string, topic: string, payload: unknown) => {
    asked.push(topic);
    const ack = { status: "success", is_running: true };
    f.observe(agent, topic, payload, ack);
    return Promise.resolve(ack);
  };
  await f.refresh("a", send);
  await f.refresh("a", send); // fresh now: no second query
  assert.deepEqual(asked, ["get_device_status"]);
  assert.equal(f.list("a")[0]!.status?.is_running, true);
});

Deno.test("page form to create_new_runtime; SAN entries", () => {
  const m = createMessage({
    name: " plc1 ",
    parent_interface: "eth1",
    network_mode: "manual",
    ip_address: "192.0.2.5",
    subnet: "",
  });
  assert.equal(m.container_name, "plc1");
  assert.deepEqual(m.vnic_configs, [{
    name: "eth0",
    parent_interface: "eth1",
    network_mode: "manual",
    ip_address: "192.0.2.5",
  }]);
  assert.deepEqual(createMessage({ name: "x" }).vnic_configs, []);
  assert.deepEqual(sanEntries(["172.17.0.1", "host.docker.internal", "DNS:a", "::1"]), [
    "IP:172.17.0.1",
    "DNS:host.docker.internal",
    "DNS:a",
    "IP:::1",
  ]);
});
