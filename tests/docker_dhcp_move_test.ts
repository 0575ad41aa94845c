/**
 * DHCP vNICs through the whole agent when the LAN changes under them (issue 12): a real busybox
 * udhcpd on a LAN bridge in a namespace this test owns; the MACVLAN parent is a host veth whose
 * peer is a port of that bridge, and this time the parent has a host address, so the agent takes
 * the parent's LAN from the host's view (netmon) and follows it. Proves, for a DHCP vNIC:
 * - the DHCP server stopped past the lease's expiry: the address is removed inside and the status
 *   says `expired` with no address; the server back: the same address again;
 * - a Docker daemon restart: the same address afterwards, and how long the restarted runtime is
 *   without it (printed; decision 0010 gives the figure);
 * - a subnet move (server and host address both move to another range): a lease in the new
 *   range within netmon's debounce + 5 s, on the new MACVLAN network.
 * Host ranges from scripts/free_range.ts (the host address is on the host). Restarts dockerd: it
 * owns the engine for its duration (CI runs the tiers one after the other). Needs root, a Docker
 * engine and busybox-static.
 */
import assert from "node:assert/strict";
import { ensureStandin, freeNets, skipReason } from "./docker_helpers.ts";
import { DhcpLan, dhcpSkipReason, sh } from "./dhcp_helpers.ts";
import { restartDockerd } from "./dockerd_helpers.ts";
import { eventually } from "./fault_common.ts";
import { inside, removeByPrefix, type Stack, startStack } from "./stack_helpers.ts";

const skip = (await skipReason()) ?? dhcpSkipReason();
if (skip) console.log(`docker_dhcp_move_test: skipped: ${skip}`);
/** netmon's debounce in this stack, ms. */
const DEBOUNCE_MS = 300;
/** Lease time, s: long enough that renewals (T1 = 5 s) do not crowd the steps, short enough that
 * waiting past its expiry costs a few seconds. */
const LEASE_S = 10;

type Net = { ip_address: string | null; gateway: string | null; dhcp?: { state: string } };

async function pidOf(name: string): Promise<number> {
  return Number((await sh("docker", "inspect", "-f", "{{.State.Pid}}", name)).trim());
}

/** IPv4 addresses on the runtime's link with `mac` (none when it has no such link yet). */
async function lanAddrs(name: string, mac: string): Promise<string[]> {
  const pid = await pidOf(name);
  if (!pid) return [];
  const links = (await inside(name)).links;
  const ifname = Object.entries(links).find(([, m]) => m === mac)?.[0];
  if (!ifname) return [];
  const a = await sh("nsenter", "-t", String(pid), "-n", "ip", "-o", "-4", "addr", "show", ifname)
    .catch(() => "");
  return [...a.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

Deno.test({
  name: "DHCP vNICs through the agent: server past expiry, dockerd restart, subnet move",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await ensureStandin();
    const [NA, NB] = await freeNets(2);
    const lan = await DhcpLan.create({ leaseS: LEASE_S, net: NA! });
    // A fresh parent name per run: a run killed half-way leaves Docker's record of its MACVLAN
    // network, which a later daemon restart could let claim the parent (fault_restart_test.ts).
    const parent = `eodm${lan.id.slice(0, 4)}`;
    const netOf = (n: string) => `macvlan_${parent}_${n}.0_24`;
    const dir = await Deno.makeTempDir({ prefix: "eo-dhcpmove-" });
    let stack: Stack | null = null;
    const net = async (s: Stack, id: string, name: string): Promise<Net> => {
      const st = await s.send("get_device_status", { device_id: id });
      return ((st.networks ?? {}) as Record<string, Net>)[name] ??
        { ip_address: null, gateway: null };
    };
    /** The runtime's entry on network `name` once its lease state is `state`. */
    const inState = (s: Stack, name: string, state: string, ms: number, every?: number) =>
      eventually(
        async () => {
          const x = await net(s, "eodm-one", name);
          assert.equal(x.dhcp?.state, state, JSON.stringify(x));
          return x;
        },
        ms,
        every,
      );
    try {
      await sh("ip", "link", "add", parent, "type", "veth", "peer", "name", `q${lan.id}`);
      await sh("ip", "link", "set", `q${lan.id}`, "netns", lan.ns);
      await sh("ip", "addr", "add", `${NA}.250/24`, "dev", parent);
      await sh("ip", "link", "set", parent, "up");
      await lan.bridgePort(`q${lan.id}`);
      stack = await startStack(dir, DEBOUNCE_MS);
      const s = stack;

      let ip = "";
      let mac = "";
      await t.step("a DHCP vNIC on a parent with a host address: a lease of its LAN", async () => {
        const ack = await s.send("create_new_runtime", {
          container_name: "eodm-one",
          vnic_configs: [{ name: "eth0", parent_interface: parent, network_mode: "dhcp" }],
        });
        assert.notEqual(ack.status, "error", JSON.stringify(ack));
        const n = await inState(s, netOf(NA!), "bound", 60_000);
        ip = n.ip_address!;
        assert.ok(lan.inPool(ip), `${ip} in the pool of ${NA}.0/24`);
        assert.equal(n.gateway, lan.router);
        const file = JSON.parse(await Deno.readTextFile(`${s.stateDir}/runtime_vnics.json`));
        mac = file["eodm-one"][0].mac_address;
        assert.deepEqual(await lanAddrs("eodm-one", mac), [ip]);
      });

      await t.step(
        "server stopped past expiry: address removed, reported; back: same address",
        async () => {
          await lan.stopServer();
          const gone = await inState(s, netOf(NA!), "expired", (LEASE_S + 10) * 1000);
          assert.equal(gone.ip_address, null, "no address reported once the lease expired");
          await eventually(async () => {
            assert.deepEqual(await lanAddrs("eodm-one", mac), [], "address removed inside");
          }, 5_000);
          await lan.startServer();
          const back = await inState(s, netOf(NA!), "bound", 30_000);
          assert.equal(back.ip_address, ip, "the same address once the server answers again");
          assert.deepEqual(await lanAddrs("eodm-one", mac), [ip]);
        },
      );

      await t.step("dockerd restart: the same address; the window without it", async () => {
        const before = await pidOf("eodm-one");
        await restartDockerd();
        // From the moment the restarted runtime runs (a new pid) until its address is back.
        const started = await eventually(
          async () => {
            const pid = await pidOf("eodm-one").catch(() => 0);
            assert.ok(pid > 0 && pid !== before, `running again (pid ${pid})`);
            return performance.now();
          },
          60_000,
          20,
        );
        await eventually(
          async () => {
            assert.deepEqual(await lanAddrs("eodm-one", mac), [ip]);
          },
          30_000,
          20,
        );
        const window = Math.round(performance.now() - started);
        console.log(
          `  dockerd restart: runtime running again -> its lease address back: ${window} ms`,
        );
        const n = await inState(s, netOf(NA!), "bound", 30_000);
        assert.equal(n.ip_address, ip, "the same address after the daemon restart");
      });

      await t.step(
        "subnet move: server and parent move; a lease in the new range in time",
        async () => {
          await lan.move(NB!);
          const t0 = performance.now();
          await sh("ip", "addr", "del", `${NA}.250/24`, "dev", parent);
          await sh("ip", "addr", "add", `${NB}.250/24`, "dev", parent);
          const n = await inState(s, netOf(NB!), "bound", 60_000, 100);
          const after = Math.round(performance.now() - t0 - DEBOUNCE_MS);
          console.log(`  subnet move: bound in ${NB}.0/24 ${after} ms after netmon's debounce`);
          assert.ok(lan.inPool(n.ip_address!), `${n.ip_address} in the pool of ${NB}.0/24`);
          assert.equal(n.gateway, lan.router);
          assert.ok(after <= 5_000, `a new lease within debounce + 5 s (${after} ms after it)`);
          assert.deepEqual(await lanAddrs("eodm-one", mac), [n.ip_address], "one address, the new");
          const st = await s.send("get_device_status", { device_id: "eodm-one" });
          assert.deepEqual(
            Object.keys(st.networks as object).filter((k) => k.startsWith("macvlan_")),
            [
              netOf(NB!),
            ],
          );
        },
      );

      await t.step("delete: nothing of it left", async () => {
        await s.send("delete_device", { device_id: "eodm-one" });
        await eventually(async () => {
          assert.equal((await sh("docker", "ps", "-a", "-q", "-f", "name=^eodm-one$")).trim(), "");
          assert.equal(
            (await sh("docker", "network", "ls", "-q", "-f", `name=${parent}`)).trim(),
            "",
          );
        }, 60_000);
      });
    } finally {
      if (stack) {
        const path = await Deno.makeTempFile({ prefix: "eo-dhcp-move-", suffix: ".log" });
        await Deno.writeTextFile(path, stack.agent.output());
        console.log(`  agent log: ${path}`);
      }
      await stack?.stop().catch(() => {});
      await removeByPrefix(["eodm-", `macvlan_${parent}_`]);
      await sh("ip", "link", "del", parent).catch(() => {});
      await lan.destroy().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
