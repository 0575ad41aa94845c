/**
 * DHCP vNICs through the whole agent (issue 12): a real busybox udhcpd on a LAN bridge in a
 * namespace this test owns; the MACVLAN parent is a host veth without a host address whose peer
 * is a port of that bridge; the cloud gives the parent's LAN (`parent_subnet`). Proves: a DHCP
 * vNIC gets a lease from the pool (the server's table lists its MAC) and the status reports it
 * (address, router, `bound`), with exactly one IPv4 address and a default route via the router
 * inside; a reserved MAC gets its reserved address; the same address after a container restart
 * and after the agent is killed (-9) and started again; the release on delete; and with no server
 * answering, `waiting for offer` and no address. Needs root, a Docker engine and busybox-static.
 */
import assert from "node:assert/strict";
import { ensureStandin, skipReason } from "./docker_helpers.ts";
import { DhcpLan, dhcpSkipReason, sh } from "./dhcp_helpers.ts";
import { eventually } from "./fault_common.ts";
import { inside, removeByPrefix, type Stack, startStack } from "./stack_helpers.ts";

const skip = (await skipReason()) ?? dhcpSkipReason();
if (skip) console.log(`docker_dhcp_agent_test: skipped: ${skip}`);

type Net = { ip_address: string | null; gateway: string | null; dhcp?: { state: string } };

/** Keeps the agent's log of a run in a temp file (printed path). */
async function saveLog(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "eo-dhcp-agent-", suffix: ".log" });
  await Deno.writeTextFile(path, text);
  return path;
}

async function pidOf(name: string): Promise<number> {
  return Number((await sh("docker", "inspect", "-f", "{{.State.Pid}}", name)).trim());
}

/** IPv4 addresses and the default route inside a runtime, on its LAN link (by MAC). */
async function lanState(name: string, mac: string): Promise<{ addrs: string[]; via: string[] }> {
  const pid = await pidOf(name);
  const links = (await inside(name)).links;
  const ifname = Object.entries(links).find(([, m]) => m === mac)?.[0];
  assert.ok(ifname, `a link with ${mac} inside ${name}: ${JSON.stringify(links)}`);
  const a = await sh("nsenter", "-t", String(pid), "-n", "ip", "-o", "-4", "addr", "show", ifname);
  const r = await sh("nsenter", "-t", String(pid), "-n", "ip", "-4", "route", "show", "default");
  return {
    addrs: [...a.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!),
    via: [...r.matchAll(/default via (\S+) dev (\S+)/g)].filter((m) => m[2] === ifname).map((m) =>
      m[1]!
    ),
  };
}

Deno.test({
  name: "DHCP vNICs through the agent: lease, reservation, restarts, release, no server",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await ensureStandin();
    const lan = await DhcpLan.create({ leaseS: 30 });
    const parent = `eoda${lan.id.slice(0, 6)}`;
    const NET = `macvlan_${parent}_${lan.net}.0_24`;
    const dir = await Deno.makeTempDir({ prefix: "eo-dhcpagent-" });
    let stack: Stack | null = null;
    const vnic = (mac?: string) => ({
      name: "eth0",
      parent_interface: parent,
      network_mode: "dhcp",
      parent_subnet: `${lan.net}.0/24`,
      parent_gateway: lan.router,
      ...(mac ? { mac_address: mac } : {}),
    });
    const net = async (s: Stack, id: string): Promise<Net> => {
      const st = await s.send("get_device_status", { device_id: id });
      return ((st.networks ?? {}) as Record<string, Net>)[NET] ??
        { ip_address: null, gateway: null };
    };
    const bound = (s: Stack, id: string, ms = 30_000) =>
      eventually(async () => {
        const n = await net(s, id);
        assert.equal(n.dhcp?.state, "bound", JSON.stringify(n));
        return n;
      }, ms);
    try {
      await sh(
        "ip",
        "link",
        "add",
        parent,
        "type",
        "veth",
        "peer",
        "name",
        `q${lan.id}`,
        "netns",
        lan.ns,
      );
      await sh("ip", "link", "set", parent, "up");
      await lan.bridgePort(`q${lan.id}`);
      stack = await startStack(dir, 300);
      const s = stack;

      let ip = "";
      let mac = "";
      await t.step(
        "a DHCP vNIC gets a lease from the pool, reported, in the server's table",
        async () => {
          const t0 = performance.now();
          await s.send("create_new_runtime", {
            container_name: "eoda-one",
            vnic_configs: [vnic()],
          });
          const n = await bound(s, "eoda-one");
          console.log(`  create -> lease bound in ${Math.round(performance.now() - t0)} ms`);
          ip = n.ip_address!;
          assert.ok(lan.inPool(ip), `${ip} in the pool`);
          assert.equal(n.gateway, lan.router);
          // The status shows the lease as soon as the client has it; the agent writes it to
          // runtime_vnics.json right after (one serialised write, milliseconds later: a CI run
          // read the file between the two). 5 s is far above that write.
          const stored = await eventually(
            async () => {
              const file = JSON.parse(await Deno.readTextFile(`${s.stateDir}/runtime_vnics.json`));
              const v = file["eoda-one"][0];
              assert.equal(v.dhcp_ip, ip, "lease persisted as dhcp_ip");
              return v;
            },
            5_000,
            50,
          );
          mac = stored.mac_address;
          assert.equal(stored.dhcp_gateway, lan.router);
          await eventually(async () => {
            assert.match(
              await lan.leaseTable(),
              new RegExp(`${mac}.*${ip.replaceAll(".", "\\.")}`),
            );
          }, 10_000);
          const inner = await lanState("eoda-one", mac);
          assert.deepEqual(inner.addrs, [ip], "exactly one IPv4 address: the lease's");
          assert.deepEqual(inner.via, [lan.router], "default route via the lease's router");
        },
      );

      await t.step("a reserved MAC gets its reserved address", async () => {
        await s.send("create_new_runtime", {
          container_name: "eoda-res",
          vnic_configs: [vnic(lan.reservedMac)],
        });
        const n = await bound(s, "eoda-res");
        assert.equal(n.ip_address, lan.reservedIp);
      });

      await t.step("container restart and agent kill -9: the same address", async () => {
        const r = await s.send("restart_device", { device_id: "eoda-one" });
        assert.equal(r.status, "success", JSON.stringify(r));
        await eventually(async () => {
          const n = await bound(s, "eoda-one", 5_000);
          assert.equal(n.ip_address, ip);
          assert.deepEqual((await lanState("eoda-one", mac)).addrs, [ip]);
        }, 30_000);
        await s.restartAgent(true);
        await eventually(async () => {
          const n = await bound(s, "eoda-one", 5_000);
          assert.equal(n.ip_address, ip);
        }, 30_000);
        assert.deepEqual((await lanState("eoda-one", mac)).addrs, [ip], "kept across the kill");
      });

      await t.step("delete: the server sees the release", async () => {
        await s.send("delete_device", { device_id: "eoda-one" });
        await eventually(async () => {
          const line = (await lan.leaseTable()).split("\n").find((l) =>
            l.toLowerCase().startsWith(mac)
          );
          assert.ok(line && /expired/.test(line), `released: ${line}`);
        }, 30_000);
      });

      await t.step(
        "readiness: health_status goes healthy once the runtime API answers",
        async () => {
          await eventually(async () => {
            const st = await s.send("get_device_status", { device_id: "eoda-res" });
            assert.equal(st.health_status, "healthy", JSON.stringify(st));
          }, 60_000);
        },
      );

      await t.step("a static address another LAN host uses is refused with its MAC", async () => {
        // Another host on the plant LAN: an address on the LAN bridge, answering ARP.
        const taken = `${lan.net}.9`;
        await sh("ip", "-n", lan.ns, "addr", "add", `${taken}/24`, "dev", "br0");
        await s.send("create_new_runtime", {
          container_name: "eoda-clash",
          vnic_configs: [{
            name: "eth0",
            parent_interface: parent,
            network_mode: "static",
            ip: taken,
            subnet: "255.255.255.0",
            parent_subnet: `${lan.net}.0/24`,
          }],
        });
        const st = await eventually(async () => {
          const x = await s.send("get_device_status", { device_id: "eoda-clash" });
          assert.equal(x.status, "error", JSON.stringify(x));
          return x;
        }, 30_000);
        assert.match(
          String(st.error),
          new RegExp(`${taken.replaceAll(".", "\\.")} is already used`),
        );
        assert.match(
          String(st.error),
          new RegExp(lan.serverMac, "i"),
          "names the other host's MAC",
        );
        assert.equal(
          (await sh("docker", "ps", "-a", "-q", "-f", "name=^eoda-clash$")).trim(),
          "",
          "nothing created",
        );
      });

      await t.step("no server: waiting for offer, no address invented", async () => {
        await lan.stopServer();
        await s.send("create_new_runtime", { container_name: "eoda-none", vnic_configs: [vnic()] });
        const n = await eventually(async () => {
          const x = await net(s, "eoda-none");
          assert.equal(x.dhcp?.state, "waiting for offer", JSON.stringify(x));
          return x;
        }, 30_000);
        assert.equal(n.ip_address, null);
        const file = JSON.parse(await Deno.readTextFile(`${s.stateDir}/runtime_vnics.json`));
        const m = file["eoda-none"][0].mac_address;
        await eventually(async () => {
          assert.deepEqual((await lanState("eoda-none", m)).addrs, [], "Docker's address removed");
        }, 10_000);
      });
    } finally {
      // The agent's log, for a failed step (steps do not throw out of the test).
      if (stack) console.log(`  agent log: ${await saveLog(stack.agent.output())}`);
      await stack?.stop().catch(() => {});
      await removeByPrefix(["eoda-", `macvlan_${parent}_`]);
      await sh("ip", "link", "del", parent).catch(() => {});
      await lan.destroy().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
