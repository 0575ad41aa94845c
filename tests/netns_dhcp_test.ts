/**
 * DHCP per vNIC against a real DHCP server (busybox udhcpd) in namespaces this test owns: a LAN
 * namespace with the server, and "runtime" namespaces held by a sleeping process, each joined to
 * the LAN by a veth whose runtime end carries the vNIC's MAC and a Docker-like IPAM address.
 * The supervisor runs with its real adapters (nsenter, /proc); only the resolver file is a temp
 * file (a runtime namespace here shares the host's root, so /proc/<pid>/root/etc is the host's).
 * Needs root and busybox-static.
 */
import assert from "node:assert/strict";
import { DhcpSupervisor } from "../agent/lan/dhcp_supervisor.ts";
import type { LeaseView } from "../agent/lan/lease.ts";
import { arpProbe } from "../agent/lan/arp_probe.ts";
import { nsenterRunner, type ResolvPort } from "../agent/lan/ports.ts";
import { silentLogger } from "../agent/log.ts";
import { rootSkipReason } from "./netns_helpers.ts";
import { DhcpLan, dhcpSkipReason, percentile, sh } from "./dhcp_helpers.ts";

const skip = rootSkipReason() ?? dhcpSkipReason();
if (skip) console.warn(`netns_dhcp_test: ${skip}`);

/** Resolver files of the fake runtimes, by pid. */
function fileResolv(dir: string): ResolvPort {
  return {
    read: (pid) => Deno.readTextFile(`${dir}/resolv-${pid}`).catch(() => null),
    write: (pid, text) => Deno.writeTextFile(`${dir}/resolv-${pid}`, text),
  };
}

async function waitFor<T>(what: string, fn: () => Promise<T | null> | T | null, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test({
  name: "netns: DHCP per vNIC against udhcpd (lease, renew, expiry, restart, release, probe)",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const lan = await DhcpLan.create({ leaseS: 12 });
    const stateDir = await Deno.makeTempDir({ prefix: "eo-dhcp-" });
    const resolv = fileResolv(stateDir);
    const mk = () =>
      new DhcpSupervisor({
        stateDir,
        runner: nsenterRunner,
        resolv,
        log: silentLogger,
      });
    let sup = mk();
    await sup.start();
    const changes: [string, string, LeaseView][] = [];
    sup.onChange((r, v, view) => changes.push([r, v, view]));
    try {
      const rt = await lan.runtime("02:5e:00:00:00:01");
      await Deno.writeTextFile(
        `${stateDir}/resolv-${rt.pid}`,
        "nameserver 127.0.0.11\noptions ndots:0\n",
      );
      const vnic = { name: "plant", mac: rt.mac, hostname: "plc-one" };
      let ip = "";

      await t.step("a lease from the pool, in the server's table; IPAM address gone", async () => {
        const t0 = performance.now();
        const [r] = await sup.ensure("plc-one", rt.pid, [vnic]);
        assert.equal(r!.outcome, "started", r!.error);
        assert.deepEqual(r!.removed, [`${rt.ipam}/24`]);
        const view = await waitFor("bound", () => {
          const v = sup.leases("plc-one").plant!;
          return v.state === "bound" ? v : null;
        }, 10_000);
        console.log(`  ensure -> bound ${(performance.now() - t0).toFixed(0)} ms`);
        ip = view.ip!;
        assert.ok(lan.inPool(ip), ip);
        assert.equal(view.gateway, lan.router);
        assert.deepEqual(view.dns, lan.dns);
        assert.deepEqual(await rt.addresses(), [`${ip}/24`], "exactly one IPv4 on the interface");
        assert.match(
          await rt.defaultRoute(),
          new RegExp(`default via ${lan.router} dev ${rt.ifname}`),
        );
        const table = await waitFor("lease table", async () => {
          const t = await lan.leaseTable();
          return t.includes(rt.mac) ? t : null;
        }, 5_000);
        assert.match(table, new RegExp(`${rt.mac}\\s+${ip.replaceAll(".", "\\.")}\\s+plc-one`));
        const conf = await resolv.read(rt.pid);
        assert.ok(conf!.includes(`nameserver ${lan.dns[0]}\nnameserver ${lan.dns[1]}\n`), conf!);
        assert.ok(
          changes.some(([r, v, w]) => r === "plc-one" && v === "plant" && w.state === "bound"),
        );
      });

      await t.step("renews at T1 (supervisor nudge) and keeps the address", async () => {
        const first = sup.leases("plc-one").plant!;
        const boundAt = Date.parse(first.expires_at!) - lan.leaseS * 1000;
        const renewed = await waitFor("renewal", () => {
          const v = sup.leases("plc-one").plant!;
          return v.expires_at !== first.expires_at && v.state === "bound" ? v : null;
        }, lan.leaseS * 1000);
        const at = Date.parse(renewed.expires_at!) - lan.leaseS * 1000;
        // Seconds resolution of the script's clock: T1 is 6 s after the ACK, give it ±2 s.
        const after = (at - boundAt) / 1000;
        console.log(`  renewed ${after} s after bound (T1 = ${lan.leaseS / 2} s)`);
        assert.ok(after >= lan.leaseS / 2 - 1 && after <= lan.leaseS / 2 + 2, String(after));
        assert.equal(renewed.ip, ip);
      });

      await t.step("agent restart: a new supervisor adopts the running client", async () => {
        const pidBefore = await rt.clientPid();
        sup.close();
        sup = mk();
        await sup.start();
        const [r] = await sup.ensure("plc-one", rt.pid, [vnic]);
        assert.equal(r!.outcome, "running", r!.error);
        assert.equal(await rt.clientPid(), pidBefore);
        assert.equal(sup.leases("plc-one").plant!.ip, ip);
      });

      await t.step("a crashed client is restarted, the address stays", async () => {
        const before = await rt.clientPid();
        await sh("kill", "-9", String(before));
        const after = await waitFor("restart", async () => {
          const p = await rt.clientPid();
          return p !== null && p !== before ? p : null;
        }, 5_000);
        assert.notEqual(after, before);
        assert.deepEqual(await rt.addresses(), [`${ip}/24`]);
        await waitFor("bound again", async () => {
          const ev = await Deno.readTextFile(`${stateDir}/dhcp/plc-one/${hexOf("plant")}.event`);
          return ev.includes(`pid=${after}`) && ev.includes("event=bound") ? true : null;
        }, 10_000);
        assert.equal(sup.leases("plc-one").plant!.ip, ip, "INIT-REBOOT kept the address");
      });

      await t.step("server gone past expiry: address removed; back: address back", async () => {
        await lan.stopServer();
        const expired = await waitFor("expired", () => {
          const v = sup.leases("plc-one").plant!;
          return v.state === "expired" ? v : null;
        }, (lan.leaseS + 5) * 1000);
        assert.equal(expired.ip, undefined);
        await waitFor(
          "address removed",
          async () => (await rt.addresses()).length === 0 || null,
          5_000,
        );
        await lan.startServer();
        const back = await waitFor("bound again", () => {
          const v = sup.leases("plc-one").plant!;
          return v.state === "bound" ? v : null;
        }, 20_000);
        assert.deepEqual(await rt.addresses(), [`${back.ip}/24`]);
        ip = back.ip!;
      });

      await t.step("runtime restart (new namespace, IPAM address): same address", async () => {
        const rt2 = await lan.runtime(rt.mac, rt);
        const t0 = performance.now();
        const [r] = await sup.ensure("plc-one", rt2.pid, [vnic]);
        assert.equal(r!.outcome, "started", r!.error);
        assert.equal(r!.kept_ip, ip, "the valid lease is put back at once");
        assert.deepEqual(await rt2.addresses(), [`${ip}/24`]);
        await waitFor("confirmed", async () => {
          const ev = await Deno.readTextFile(`${stateDir}/dhcp/plc-one/${hexOf("plant")}.event`);
          return ev.includes(`pid=${await rt2.clientPid()}`) && ev.includes("event=bound") || null;
        }, 10_000);
        console.log(`  restart -> lease confirmed ${(performance.now() - t0).toFixed(0)} ms`);
        assert.equal(sup.leases("plc-one").plant!.ip, ip);
        assert.deepEqual(await rt2.addresses(), [`${ip}/24`]);
        rt.pid = rt2.pid;
      });

      await t.step("stop releases: the server marks the lease released", async () => {
        await sup.stop("plc-one");
        // stop resolves once the DHCPRELEASE left; the client's exit (its deconfig script) follows
        await sup.idle("plc-one");
        assert.equal(await rt.clientPid(), null);
        const table = await waitFor("release in table", async () => {
          const t = await lan.leaseTable();
          return /expired/.test(t.split("\n").find((l) => l.startsWith(rt.mac)) ?? "") ? t : null;
        }, 5_000);
        assert.ok(table);
      });

      await t.step("a reserved MAC gets its reserved address", async () => {
        const rr = await lan.runtime(lan.reservedMac);
        await sup.ensure("plc-res", rr.pid, [{ name: "p", mac: rr.mac, hostname: "plc-res" }]);
        const v = await waitFor("bound", () => {
          const v = sup.leases("plc-res").p!;
          return v.state === "bound" ? v : null;
        }, 10_000);
        assert.equal(v.ip, lan.reservedIp);
        await sup.release("plc-res");
        await sup.idle("plc-res");
        await assertGone(`${stateDir}/dhcp/plc-res`);
      });

      await t.step("no server: waiting for offer, no address, keeps trying", async () => {
        const dark = await DhcpLan.create({ leaseS: 12, server: false });
        try {
          const rd = await dark.runtime("02:5e:00:00:00:0d");
          const [r] = await sup.ensure("plc-dark", rd.pid, [{
            name: "p",
            mac: rd.mac,
            hostname: "d",
          }]);
          assert.equal(r!.outcome, "started");
          await new Promise((r) => setTimeout(r, 3_000));
          assert.equal(sup.leases("plc-dark").p!.state, "waiting for offer");
          assert.deepEqual(await rd.addresses(), []);
          assert.notEqual(await rd.clientPid(), null, "the client keeps trying");
          await sup.release("plc-dark");
          await sup.idle("plc-dark");
          assert.equal(await rd.clientPid(), null);
          // Nothing left to supervise: the 1 s tick stops (an idle agent does not wake for it).
          await waitFor("tick stopped", () => !sup.ticking || null, 3_000);
        } finally {
          await dark.destroy();
        }
      });

      await t.step("ARP probe: a LAN host using an address answers with its MAC", async () => {
        const rp = await lan.runtime("02:5e:00:00:00:0e");
        await sh("ip", "-n", rp.ns, "addr", "flush", "dev", rp.ifname);
        const t0 = performance.now();
        const taken = await arpProbe(nsenterRunner, {
          pid: rp.pid,
          iface: rp.ifname,
          ip: lan.router,
        });
        const tTaken = performance.now() - t0;
        assert.deepEqual(taken, { taken: true, mac: lan.serverMac });
        const t1 = performance.now();
        const free = await arpProbe(nsenterRunner, {
          pid: rp.pid,
          iface: rp.ifname,
          ip: lan.freeIp,
        });
        const tFree = performance.now() - t1;
        assert.deepEqual(free, { taken: false });
        console.log(`  probe: taken ${tTaken.toFixed(0)} ms, free ${tFree.toFixed(0)} ms`);
        await assert.rejects(
          () => arpProbe(nsenterRunner, { pid: rp.pid, iface: "x;y", ip: lan.router }),
          TypeError,
        );
      });

      await t.step("create -> bound, 10 runtimes (p50/p95)", async () => {
        const times: number[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await lan.runtime(`02:5e:00:00:01:${String(i).padStart(2, "0")}`);
          const name = `plc-m${i}`;
          const t0 = performance.now();
          await sup.ensure(name, r.pid, [{ name: "p", mac: r.mac, hostname: name }]);
          assert.ok(sup.ticking, "a supervised runtime arms the tick again");
          await waitFor("bound", () => sup.leases(name).p!.state === "bound" || null, 10_000);
          times.push(performance.now() - t0);
          await sup.release(name);
        }
        console.log(
          `  ensure -> bound ms: p50 ${percentile(times, 50).toFixed(0)} p95 ${
            percentile(times, 95).toFixed(0)
          } (udhcpd ARP check ${lan.serverArpMs} ms, udhcpc ARP check 200 ms)`,
        );
      });
    } finally {
      sup.close();
      for (const r of ["plc-one", "plc-res", "plc-dark"]) await sup.release(r).catch(() => {});
      await lan.destroy();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
});

function hexOf(s: string): string {
  return [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function assertGone(path: string): Promise<void> {
  await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
}
