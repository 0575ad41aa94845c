/**
 * DHCP per vNIC on a real Docker MACVLAN network: the parent is a host veth without any host
 * address whose peer is a port of the LAN bridge (in a namespace this test owns) where busybox
 * udhcpd serves. Containers are a tiny busybox image made by `docker import`. Proves the lease,
 * the IPAM address removed (and measures how long it existed), DNS written into the container's
 * resolv.conf and written again after a restart, the same address after a restart, the release.
 * Needs root, a Docker engine and busybox-static.
 */
import assert from "node:assert/strict";
import { DhcpSupervisor } from "../agent/lan/dhcp_supervisor.ts";
import { nsenterRunner, shellResolv } from "../agent/lan/ports.ts";
import { silentLogger } from "../agent/log.ts";
import { skipReason } from "./docker_helpers.ts";
import { DhcpLan, dhcpSkipReason, percentile, sh } from "./dhcp_helpers.ts";

const skip = (await skipReason()) ?? dhcpSkipReason();
if (skip) console.warn(`docker_dhcp_test: ${skip}`);
const IMAGE = "edge-orchestrator/busybox-test:latest";
const LABEL = "io.edge-orchestrator.test=1";

async function ensureImage(): Promise<void> {
  if (await sh("docker", "image", "inspect", IMAGE).then(() => true, () => false)) return;
  const root = await Deno.makeTempDir({ prefix: "eo-bbimg-" });
  try {
    await Deno.mkdir(`${root}/bin`);
    await Deno.mkdir(`${root}/etc`);
    await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
    await Deno.chmod(`${root}/bin/busybox`, 0o755);
    await sh(
      "sh",
      "-c",
      `tar -C ${root} -c . | docker import -c 'LABEL ${LABEL}' -c 'CMD ["/bin/busybox","sleep","3600"]' - ${IMAGE}`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function inspect(name: string): Promise<{ pid: number; started: number }> {
  const out = (await sh("docker", "inspect", "-f", "{{.State.Pid}} {{.State.StartedAt}}", name))
    .trim().split(" ");
  return { pid: Number(out[0]), started: Date.parse(out[1]!) };
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
  name: "docker: DHCP per vNIC on a MACVLAN network without a host address on the parent",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await ensureImage();
    const lan = await DhcpLan.create({ leaseS: 60 });
    const parent = `eodp${lan.id}`;
    const network = `eodn${lan.id}`;
    const containers: string[] = [];
    const stateDir = await Deno.makeTempDir({ prefix: "eo-dhcp-" });
    const sup = new DhcpSupervisor({
      stateDir,
      runner: nsenterRunner,
      resolv: shellResolv(nsenterRunner),
      log: silentLogger,
    });
    const run = async (name: string, mac: string) => {
      containers.push(name);
      await sh(
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--label",
        LABEL,
        "--network",
        network,
        "--mac-address",
        mac,
        IMAGE,
      );
      return await inspect(name);
    };
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
      // IPAM hands out from a range outside the DHCP pool (.100-.150): the window during which
      // Docker's address exists must not collide with a leased one.
      await sh(
        "docker",
        "network",
        "create",
        "-d",
        "macvlan",
        "-o",
        `parent=${parent}`,
        "--subnet",
        `${lan.net}.0/24`,
        "--gateway",
        lan.router,
        "--ip-range",
        `${lan.net}.192/27`,
        "--label",
        LABEL,
        network,
      );
      await sup.start();
      const name = `eodc${lan.id}`;
      const mac = `02:5e:${lan.id.slice(0, 2)}:${lan.id.slice(2, 4)}:00:01`;
      const vnic = { name: "plant", mac, hostname: name };
      let ip = "";

      await t.step(
        "lease, IPAM address removed (window measured), DNS in resolv.conf",
        async () => {
          const c = await run(name, mac);
          const [r] = await sup.ensure(name, c.pid, [vnic]);
          assert.equal(r!.outcome, "started", r!.error);
          assert.equal(r!.removed?.length, 1);
          const view = await waitFor("bound", () => {
            const v = sup.leases(name).plant!;
            return v.state === "bound" ? v : null;
          }, 10_000);
          ip = view.ip!;
          assert.ok(lan.inPool(ip), ip);
          console.log(
            `  IPAM address ${r!.removed![0]} existed ${
              r!.removed_at! - c.started
            } ms after StartedAt` +
              ` (ensure called right after docker run returned)`,
          );
          const addrs = await sh("docker", "exec", name, "/bin/busybox", "ip", "-o", "-4", "addr");
          assert.deepEqual(
            [...addrs.matchAll(/inet (\S+)/g)].map((m) => m[1]).filter((a) =>
              !a!.startsWith("127.")
            ),
            [`${ip}/24`],
          );
          const conf = await sh("docker", "exec", name, "/bin/busybox", "cat", "/etc/resolv.conf");
          assert.ok(conf.includes(`nameserver ${lan.dns[0]}`), conf);
        },
      );

      await t.step("container restart: same address (INIT-REBOOT), DNS written again", async () => {
        await sh("docker", "restart", "-t", "1", name);
        const c = await inspect(name);
        const before = await sh("docker", "exec", name, "/bin/busybox", "cat", "/etc/resolv.conf");
        const [r] = await sup.ensure(name, c.pid, [vnic]);
        assert.equal(r!.outcome, "started", r!.error);
        assert.equal(r!.kept_ip, ip);
        console.log(
          `  after restart: Docker's resolv.conf ${
            before.includes(lan.dns[0]!) ? "kept" : "rewritten"
          };` +
            ` IPAM address existed ${r!.removed_at! - c.started} ms after StartedAt`,
        );
        const conf = await sh("docker", "exec", name, "/bin/busybox", "cat", "/etc/resolv.conf");
        assert.ok(conf.includes(`nameserver ${lan.dns[0]}`), conf);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(sup.leases(name).plant!.ip, ip);
        assert.equal(sup.leases(name).plant!.state, "bound");
      });

      await t.step("release before removal: the server sees it", async () => {
        await sup.release(name);
        await waitFor("release in table", async () => {
          const line = (await lan.leaseTable()).split("\n").find((l) => l.startsWith(mac));
          return line && /expired/.test(line) ? line : null;
        }, 5_000);
      });

      await t.step("docker run -> bound, 10 containers (p50/p95)", async () => {
        const times: number[] = [];
        const windows: number[] = [];
        for (let i = 0; i < 10; i++) {
          const n = `${name}m${i}`;
          const m = `02:5e:${lan.id.slice(0, 2)}:${lan.id.slice(2, 4)}:01:${
            String(i).padStart(2, "0")
          }`;
          const c = await run(n, m);
          const [r] = await sup.ensure(n, c.pid, [{ name: "p", mac: m, hostname: n }]);
          windows.push(r!.removed_at! - c.started);
          await waitFor("bound", () => sup.leases(n).p!.state === "bound" || null, 10_000);
          times.push(Date.now() - c.started);
          await sup.release(n);
          await sh("docker", "rm", "-f", n);
        }
        console.log(
          `  StartedAt -> bound ms: p50 ${percentile(times, 50)} p95 ${percentile(times, 95)};` +
            ` IPAM window ms: p50 ${percentile(windows, 50)} p95 ${percentile(windows, 95)}`,
        );
      });
    } finally {
      sup.close();
      for (const c of containers) {
        await sup.release(c).catch(() => {});
        await sh("docker", "rm", "-f", c).catch(() => {});
      }
      await sh("docker", "network", "rm", network).catch(() => {});
      await sh("ip", "link", "del", parent).catch(() => {});
      await lan.destroy();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
});
