/**
 * Mixed versions, direction "original netmon -> our agent" (issue 13): our agent's netmon client
 * and `agent doctor`'s netmon check, against a separate process that writes the original netmon's
 * lines on a Unix socket. The Python original is not available here, so that process is a Deno
 * stand-in replaying recorded lines (tests/original_netmon_standin.ts; shapes from
 * original-agent-reference.md §9.2/§9.3). The last test runs our real netmon in a network
 * namespace for the doctor's verdicts on it. Needs root for that one only.
 */
import assert from "node:assert/strict";
import { checkNetmon } from "../agent/doctor.ts";
import type { Logger } from "../agent/log.ts";
import {
  type CacheUpdate,
  InterfaceCache,
  primarySubnet,
} from "../agent/network/interface_cache.ts";
import { startNetmonClient } from "../agent/network/netmon_client.ts";
import { NetmonProcess, Netns, rootSkipReason } from "./netns_helpers.ts";

const STANDIN = new URL("./original_netmon_standin.ts", import.meta.url).pathname;
const opts = { sanitizeResources: false, sanitizeOps: false };

/** The stand-in as its own process; resolves once it listens. */
async function standin(socket: string, ...flags: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-net", STANDIN, socket, ...flags],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  assert.match(value ?? "", /listening/);
  reader.releaseLock();
  return {
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") };
}

async function eventually(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`Not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test(
  "original netmon -> our agent: the cache fills, extras ignored with one line per type",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "eo-mix-" });
    const socket = `${dir}/netmon.sock`;
    // Three rounds of the recorded events: the original repeats itself (30 s re-send, hot-plug).
    const original = await standin(socket, "--repeat", "3");
    const abort = new AbortController();
    const log = recordingLogger();
    const cache = new InterfaceCache();
    const updates: CacheUpdate[] = [];
    const client = startNetmonClient({
      path: socket,
      cache,
      log,
      signal: abort.signal,
      onUpdate: (u) => void updates.push(u),
    });
    try {
      await eventually(() => cache.absence("wlan0") === "removed", 10_000, "the replay to end");
      await eventually(() => updates.length >= 1 + 4 * 3, 5_000, "every interface event applied");
      assert.equal(cache.synced, true);
      assert.equal(cache.hasData(), true);
      assert.deepEqual(cache.list().map((i) => i.interface), ["eth0", "eth1"]);
      assert.equal(primarySubnet(cache.get("eth0")!), "192.0.2.0/24");
      assert.equal(cache.get("eth0")?.gateway, "192.0.2.1");
      assert.equal(primarySubnet(cache.get("eth1")!), "203.0.113.0/24");
      // Only real news reaches the re-wiring: the discovery, eth1's address, wlan0's removal.
      const news = updates.filter((u) => u.discovery || u.changed.length || u.gone.length);
      assert.equal(news.length, 3, JSON.stringify(news));
      const text = log.lines.join("\n");
      assert.doesNotMatch(text, /Skipped netmon line/);
      for (const t of ["device_discovery", "device_change", "dhcp_update"]) {
        const n = log.lines.filter((l) => l.includes(`"${t}" events`)).length;
        assert.equal(n, 1, `${t}: one line, not one per event\n${text}`);
      }
      assert.equal(log.lines.filter((l) => l.includes("without mac_address")).length, 1);
    } finally {
      abort.abort();
      await client;
      await original.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "doctor: the original netmon passes; a socket that answers but sends nothing fails",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "eo-mix-" });
    try {
      const talking = await standin(`${dir}/a.sock`);
      try {
        const r = await checkNetmon(`${dir}/a.sock`);
        assert.equal(r.ok, true, r.detail);
        assert.match(r.detail, /2 interface\(s\): eth0 192\.0\.2\.0\/24, eth1 203\.0\.113\.0\/24/);
        assert.match(r.detail, /original \(Python\) netmon answers get_status in its own shape/);
      } finally {
        await talking.stop();
      }
      const silent = await standin(`${dir}/b.sock`, "--silent");
      try {
        const r = await checkNetmon(`${dir}/b.sock`, { discoveryMs: 1500 });
        assert.equal(r.ok, false);
        assert.match(r.detail, /answers but sent no network_discovery within 1500 ms/);
        assert.match(r.detail, /interface cache stays empty: creates without parent_subnet/);
      } finally {
        await silent.stop();
      }
      const missing = await checkNetmon(`${dir}/none.sock`);
      assert.equal(missing.ok, false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

const skip = rootSkipReason();
Deno.test(
  "doctor against our netmon: passes with interfaces, fails when it lists none",
  { ...opts, ignore: skip !== null },
  async () => {
    const ns = await Netns.create();
    const dir = await Deno.makeTempDir({ prefix: "eo-mix-" });
    let netmon: NetmonProcess | null = null;
    try {
      // No UP interface yet (lo is left out): the cache would stay empty.
      netmon = new NetmonProcess(ns, `${dir}/n.sock`, 300);
      await eventually(
        () => {
          try {
            return Deno.statSync(`${dir}/n.sock`).isSocket === true;
          } catch {
            return false;
          }
        },
        15_000,
        "netmon to listen",
      );
      const empty = await checkNetmon(`${dir}/n.sock`);
      assert.equal(empty.ok, false);
      assert.match(empty.detail, /reported no usable interface/);
      await ns.veth("eo0", "02:00:00:00:00:01");
      await ns.ip("addr", "add", "192.0.2.10/24", "dev", "eo0");
      let r = await checkNetmon(`${dir}/n.sock`);
      const end = Date.now() + 10_000; // UP arrives about 1 s after `ip link set up`
      while (!r.ok && Date.now() < end) r = await checkNetmon(`${dir}/n.sock`);
      assert.equal(r.ok, true, r.detail);
      assert.match(r.detail, /eo0 192\.0\.2\.0\/24; netmon answers get_status/);
    } catch (e) {
      console.error(`netmon log:\n${netmon?.log}`);
      throw e;
    } finally {
      await netmon?.stop();
      await ns.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
