/**
 * `delete_orchestrator` on an agent running on the host: acked `accepted`, progress visible
 * through `get_device_status("__orchestrator__")`, then every runtime and network it made is gone
 * and the agent exits by itself (exit code 0). A user's own container is not touched.
 */
import assert from "node:assert/strict";
import { ensureStandin, freeNets, sh, skipReason } from "./docker_helpers.ts";
import { removeByPrefix, type Stack, startStack } from "./stack_helpers.ts";

const skip = await skipReason();
/** Host-side ranges: /24s that overlap no route or needed address (tests/README.md). */
const [NA] = await freeNets(1);
if (skip) console.log(`docker_self_destruct_test: skipped: ${skip}`);
const PARENT = "eosd0";

Deno.test({
  name: "delete_orchestrator removes every runtime and network, then the agent exits",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await ensureStandin();
    const dir = await Deno.makeTempDir({ prefix: "eo-sd-" });
    let stack: Stack | null = null;
    try {
      await sh("ip", "link", "del", PARENT).catch(() => {});
      await sh("ip", "link", "add", PARENT, "type", "veth", "peer", "name", `${PARENT}p`);
      await sh("ip", "addr", "add", `${NA}.250/24`, "dev", PARENT);
      await sh("ip", "link", "set", PARENT, "up");
      await sh("ip", "link", "set", `${PARENT}p`, "up");
      await sh(
        "docker",
        "run",
        "-d",
        "--name",
        "eosd-user",
        "edge-orchestrator/openplc-standin:latest",
      );
      stack = await startStack(dir, 300);
      const s = stack;
      for (const name of ["eosd-a", "eosd-b"]) {
        await s.send("create_new_runtime", {
          container_name: name,
          vnic_configs: [{ name: "eth0", parent_interface: PARENT, network_mode: "dhcp" }],
        });
      }
      for (const name of ["eosd-a", "eosd-b"]) {
        await s.waitStatus(name, (x) => x.status === "success" && x.is_running === true);
      }
      const ack = await s.send("delete_orchestrator", { correlation_id: 77 });
      assert.equal(ack.status, "accepted");
      assert.equal(ack.poll_device_id, "__orchestrator__");
      assert.equal(ack.correlation_id, 77);
      const first = await s.send("get_device_status", { device_id: "__orchestrator__" })
        .catch(() => null);
      if (first) assert.equal(first.device_id, "__orchestrator__");
      const code = await Promise.race([
        s.agent.status,
        new Promise<number>((_, reject) =>
          setTimeout(
            () => reject(new Error(`agent did not exit:\n${s.agent.output().slice(-4000)}`)),
            90_000,
          )
        ),
      ]);
      assert.equal(code, 0, s.agent.output().slice(-2000));
      const left = await sh("docker", "ps", "-a", "--format", "{{.Names}}");
      assert.ok(!/eosd-a|eosd-b/.test(left), `runtimes left: ${left}`);
      assert.match(left, /eosd-user/, "the user's container is untouched");
      const nets = await sh("docker", "network", "ls", "--format", "{{.Name}}");
      assert.ok(!/eosd-|macvlan_eosd0/.test(nets), `networks left: ${nets}`);
    } finally {
      await stack?.stop().catch(() => {});
      await removeByPrefix(["eosd-", `macvlan_${PARENT}`]);
      await sh("ip", "link", "del", PARENT).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
