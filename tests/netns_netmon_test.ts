/**
 * netmon against the real kernel: each test builds its own network namespace with veth pairs on
 * documentation addresses, runs netmon inside it and talks to its socket. Needs root.
 */
import assert from "node:assert/strict";
import type { NetmonInterface, NetworkChangeEvent } from "../contracts/mod.ts";
import { NetmonClient, NetmonProcess, Netns, rootSkipReason } from "./netns_helpers.ts";

const skip = rootSkipReason();
if (skip) console.log(`tests/netns_netmon_test.ts: ${skip}`);

/** Debounce in these tests: short, so they run quickly; the product default is 3000 ms. */
const DEBOUNCE = 300;
/** Generous bound for anything "after the debounce" on a loaded CI machine. */
const SETTLE = DEBOUNCE + 5000;

interface World {
  ns: Netns;
  netmon: NetmonProcess;
  client: NetmonClient;
  socket: string;
}

/**
 * eo0: UP, 192.0.2.10/24, default via 192.0.2.1; eo1: UP, 198.51.100.10/24; eo2: UP, no IPv4;
 * eo3: DOWN; docker0 and br-test: UP bridges (filtered); veth-*: UP peers (filtered).
 */
async function withWorld(
  fn: (w: World) => Promise<void>,
  debounce = DEBOUNCE,
): Promise<void> {
  const ns = await Netns.create();
  const dir = await Deno.makeTempDir({ prefix: "eo-nm-" });
  let netmon: NetmonProcess | null = null;
  let client: NetmonClient | null = null;
  try {
    await ns.veth("eo0", "02:00:00:00:00:01");
    await ns.veth("eo1", "02:00:00:00:00:03");
    await ns.veth("eo2", "02:00:00:00:00:05");
    await ns.veth("eo3", "02:00:00:00:00:07", false);
    for (const br of ["docker0", "br-test"]) {
      await ns.ip("link", "add", br, "type", "bridge");
      await ns.ip("link", "set", br, "up");
    }
    await ns.ip("addr", "add", "192.0.2.10/24", "dev", "eo0");
    await ns.ip("addr", "add", "198.51.100.10/24", "dev", "eo1");
    await ns.ip("route", "add", "default", "via", "192.0.2.1", "dev", "eo0");
    await waitUp(ns, ["eo0", "eo1", "eo2"]);
    const socket = `${dir}/netmon.sock`;
    netmon = new NetmonProcess(ns, socket, debounce);
    client = await NetmonClient.connect(socket);
    await fn({ ns, netmon, client, socket });
  } catch (e) {
    console.error(`netmon log:\n${netmon?.log}`);
    throw e;
  } finally {
    await client?.close();
    await netmon?.stop();
    await ns.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

/** "UP arrives about 1 s after ip link set up" (environment.md): wait for it before starting. */
async function waitUp(ns: Netns, names: string[]): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const out = await new Deno.Command("ip", { args: ["-n", ns.name, "-br", "link"] }).output();
    const text = new TextDecoder().decode(out.stdout);
    const up = names.every((n) => new RegExp(`^${n}@\\S+\\s+UP\\b`, "m").test(text));
    if (up) return;
    if (Date.now() > end) throw new Error(`Links not UP in time:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function changes(events: unknown[]): NetworkChangeEvent["data"][] {
  return (events as NetworkChangeEvent[]).filter((e) => e.type === "network_change").map((e) =>
    e.data
  );
}

function full(d: NetworkChangeEvent["data"] | undefined): NetmonInterface {
  if (!d || "status" in d) throw new Error(`expected a full interface, got ${JSON.stringify(d)}`);
  return d;
}

const opts = { ignore: skip !== null, sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "netns: discovery lists exactly the UP interfaces with subnet, gateway and MAC",
  opts,
  () =>
    withWorld(async ({ client, socket }) => {
      const e = await client.event(10_000);
      assert.equal(e.type, "network_discovery");
      if (e.type !== "network_discovery") return;
      const byName = Object.fromEntries(e.data.interfaces.map((i) => [i.interface, i]));
      assert.deepEqual(Object.keys(byName), ["eo0", "eo1", "eo2"]);
      assert.equal(byName.eo0?.mac_address, "02:00:00:00:00:01");
      assert.equal(byName.eo0?.gateway, "192.0.2.1");
      assert.equal(byName.eo0?.type, "ethernet");
      assert.deepEqual(byName.eo0?.ipv4_addresses, [
        {
          address: "192.0.2.10",
          prefixlen: 24,
          subnet: "192.0.2.0/24",
          network_address: "192.0.2.0",
        },
      ]);
      assert.equal(byName.eo1?.ipv4_addresses[0]?.subnet, "198.51.100.0/24");
      assert.equal(byName.eo1?.gateway, null);
      assert.deepEqual(byName.eo2?.ipv4_addresses, []);
      assert.equal((await Deno.stat(socket)).mode! & 0o777, 0o660);
      // A second client gets its own fresh discovery.
      const second = await NetmonClient.connect(socket);
      try {
        const d2 = await second.event(5000);
        assert.equal(d2.type, "network_discovery");
      } finally {
        await second.close();
      }
    }),
);

Deno.test(
  "netns: an address in another subnet gives one network_change after the debounce",
  opts,
  () =>
    withWorld(async ({ ns, client }) => {
      await client.event(10_000);
      const t0 = performance.now();
      await ns.ip("addr", "add", "203.0.113.5/24", "dev", "eo1");
      const c = full(changes([await client.event(SETTLE)])[0]);
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= DEBOUNCE - 50, `published after ${elapsed} ms, before the debounce`);
      assert.equal(c.interface, "eo1");
      assert.deepEqual(c.ipv4_addresses.map((a) => a.subnet), [
        "198.51.100.0/24",
        "203.0.113.0/24",
      ]);
      await new Promise((r) => setTimeout(r, DEBOUNCE + 1000));
      assert.deepEqual(client.drainEvents(), []);
    }),
);

Deno.test(
  "netns: removing the default route changes the gateway to null",
  opts,
  () =>
    withWorld(async ({ ns, client }) => {
      await client.event(10_000);
      await ns.ip("route", "del", "default");
      const c = full(changes([await client.event(SETTLE)])[0]);
      assert.equal(c.interface, "eo0");
      assert.equal(c.gateway, null);
      assert.equal(c.ipv4_addresses[0]?.address, "192.0.2.10");
    }),
);

Deno.test(
  "netns: link down gives status down at once, deletion gives removed",
  opts,
  () =>
    withWorld(async ({ ns, client }) => {
      await client.event(10_000);
      const t0 = performance.now();
      await ns.ip("link", "set", "eo1", "down");
      const down = changes([await client.event(3000)])[0];
      // The debounce here is 10 s, so anything under 3 s was published without waiting for it.
      assert.ok(performance.now() - t0 < 3000);
      assert.deepEqual({ ...down, timestamp: undefined }, {
        interface: "eo1",
        ipv4_addresses: [],
        status: "down",
        timestamp: undefined,
      });
      await ns.ip("link", "del", "eo2");
      // The kernel reports a deleted link down first, then gone: "down" may come before "removed".
      let gone = changes([await client.event(3000)])[0];
      if (gone && "status" in gone && gone.status === "down") {
        gone = changes([await client.event(3000)])[0];
      }
      assert.equal(gone?.interface, "eo2");
      assert.equal(gone && "status" in gone ? gone.status : null, "removed");
    }, 10_000),
);

Deno.test(
  "netns: 200 address changes in a tight loop settle into one change per interface",
  opts,
  () =>
    withWorld(async ({ ns, client }) => {
      await client.event(10_000);
      const lines: string[] = [];
      for (let i = 1; i <= 50; i++) {
        lines.push(`addr add 203.0.113.${i}/24 dev eo0`, `addr del 203.0.113.${i}/24 dev eo0`);
        lines.push(`addr add 198.51.100.${100 + i}/24 dev eo1`);
        lines.push(`addr del 198.51.100.${100 + i}/24 dev eo1`);
      }
      lines.push("addr add 203.0.113.200/24 dev eo0", "addr add 198.51.100.250/24 dev eo1");
      await ns.batch(lines);
      const first = await client.event(SETTLE);
      await new Promise((r) => setTimeout(r, DEBOUNCE + 2000));
      const all = changes([first, ...client.drainEvents()]);
      assert.deepEqual(all.map((c) => c.interface).sort(), ["eo0", "eo1"], JSON.stringify(all));
      const eo0 = full(all.find((c) => c.interface === "eo0"));
      const eo1 = full(all.find((c) => c.interface === "eo1"));
      assert.deepEqual(eo0.ipv4_addresses.map((a) => a.address), ["192.0.2.10", "203.0.113.200"]);
      assert.deepEqual(eo1.ipv4_addresses.map((a) => a.address), [
        "198.51.100.10",
        "198.51.100.250",
      ]);
      await client.send({ command: "get_status" });
      const r = await client.reply();
      assert.equal(r.status, "ok");
    }),
);

Deno.test(
  "netns: a client that never reads does not stall the others, and is dropped",
  opts,
  () =>
    withWorld(async ({ ns, netmon, client, socket }) => {
      await client.event(10_000);
      const slow = await Deno.connect({ transport: "unix", path: socket });
      try {
        // 5000 requests, never reading the ~1 KiB replies: far beyond the per-client bound.
        const spam = new TextEncoder().encode('{"command":"get_status"}\n'.repeat(5000));
        await slow.write(spam).catch(() => {});
        await ns.ip("addr", "add", "203.0.113.9/24", "dev", "eo2");
        const c = full(changes([await client.event(SETTLE)])[0]);
        assert.equal(c.interface, "eo2");
        const end = Date.now() + 10_000;
        while (!netmon.log.includes("Dropped client") && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.match(netmon.log, /Dropped client \d+: not reading/);
        await client.send({ command: "get_status" });
        const r = await client.reply();
        assert.equal(r.status, "ok");
        assert.equal(r.data?.clients, 1);
      } finally {
        try {
          slow.close();
        } catch { /* dropped already */ }
      }
    }),
);

Deno.test(
  "netns: unknown commands get an error line; resync and get_status answer",
  opts,
  () =>
    withWorld(async ({ client }) => {
      await client.event(10_000);
      await client.send({ command: "exec", args: ["reboot"] });
      const bad = await client.reply();
      assert.equal(bad.status, "error");
      assert.equal(bad.command, "exec");
      await client.send("this is not json");
      const garbage = await client.reply();
      assert.equal(garbage.status, "error");
      assert.equal(garbage.command, null);
      await client.send({ command: "resync" });
      const resync = await client.reply();
      assert.deepEqual([resync.command, resync.status, resync.data?.changes], ["resync", "ok", 0]);
      await client.send({ command: "get_status" });
      const status = await client.reply();
      assert.equal(status.status, "ok");
      assert.deepEqual(
        (status.data?.interfaces as NetmonInterface[]).map((i) => i.interface),
        ["eo0", "eo1", "eo2"],
      );
    }),
);

Deno.test(
  "netns: creates the socket directory, replaces a stale socket, SIGTERM removes it",
  opts,
  async () => {
    const ns = await Netns.create();
    const dir = await Deno.makeTempDir({ prefix: "eo-nm-" });
    const socket = `${dir}/sub/netmon.sock`; // the parent directory does not exist yet
    let netmon: NetmonProcess | null = null;
    try {
      for (const round of ["fresh directory", "stale socket file"]) {
        if (round === "stale socket file") {
          // A netmon killed with SIGKILL cannot clean up: its socket file stays behind.
          const killed = new NetmonProcess(ns, socket, DEBOUNCE);
          await (await NetmonClient.connect(socket)).close();
          await killed.stop("SIGKILL");
          assert.ok((await Deno.lstat(socket)).isSocket);
        }
        netmon = new NetmonProcess(ns, socket, DEBOUNCE);
        const client = await NetmonClient.connect(socket);
        assert.equal((await client.event(10_000)).type, "network_discovery", round);
        await client.close();
        assert.equal(await netmon.stop(), 0, round);
        netmon = null;
        await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound);
      }
    } finally {
      await netmon?.stop();
      await ns.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
