import assert from "node:assert/strict";
import type { NetmonEvent } from "../contracts/mod.ts";
import { NetmonEvent as NetmonEventSchema } from "../contracts/mod.ts";
import { FakeClock } from "./_fake_clock.ts";
import { capturedDump } from "./_fixtures.ts";
import * as C from "./netlink_constants.ts";
import type { EventBatch, NetlinkDump } from "./netlink_client.ts";
import type { LinkMessage } from "./netlink_parser.ts";
import { Monitor, type NetlinkPort } from "./monitor.ts";
import { createLogger } from "./log.ts";
import { looksWireless } from "./snapshot.ts";

class FakeNetlink implements NetlinkPort {
  dump: NetlinkDump = capturedDump();
  dumps = 0;
  dumpAll(): Promise<NetlinkDump> {
    this.dumps++;
    return Promise.resolve(structuredClone(this.dump));
  }
  nextEvents(): Promise<EventBatch | null> {
    throw new Error("Not implemented: nextEvents");
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

async function setup() {
  const clock = new FakeClock();
  const netlink = new FakeNetlink();
  const events: NetmonEvent[] = [];
  const monitor = new Monitor({
    netlink,
    debounceMs: 3000,
    wireless: looksWireless,
    log: createLogger("CRITICAL"),
    publish: (e) => events.push(NetmonEventSchema.parse(e)),
    clock,
    now: () => Date.UTC(2026, 10, 25, 12, 0, clock.now() / 1000),
  });
  await monitor.start();
  return { clock, netlink, events, monitor };
}

const summary = (events: NetmonEvent[]) =>
  events.map((e) =>
    e.type === "network_change"
      ? `${e.data.interface} ${"status" in e.data ? e.data.status : "changed"}`
      : e.type
  );

function link(d: NetlinkDump, name: string): LinkMessage {
  const l = d.links.find((x) => x.name === name);
  if (!l) throw new Error(`no link ${name}`);
  return l;
}

const someEvent = (kind: "addr" | "route"): EventBatch => ({
  messages: [{ kind, header: { len: 0, type: 0, flags: 0, seq: 0, pid: 0 } } as never],
  overflow: false,
});

Deno.test("start publishes nothing; discovery lists the UP interfaces, stamped now", async () => {
  const { events, monitor } = await setup();
  assert.equal(events.length, 0);
  const d = monitor.discovery();
  assert.deepEqual(d.data.interfaces.map((i) => i.interface), ["eo0", "eo0p", "eo1", "eo1p"]);
  assert.ok(d.data.interfaces.every((i) => i.timestamp === d.data.timestamp));
});

Deno.test("a burst of events gives one change per changed interface after the debounce", async () => {
  const { clock, netlink, events, monitor } = await setup();
  const eo1 = link(netlink.dump, "eo1").index;
  netlink.dump.addrs = netlink.dump.addrs.filter((a) => a.index !== eo1);
  netlink.dump.addrs.push({
    ...netlink.dump.addrs[0]!,
    index: eo1,
    address: "203.0.113.5",
    prefixlen: 24,
  });
  for (let i = 0; i < 50; i++) {
    monitor.handle(someEvent("addr"));
    clock.advance(20);
  }
  await flush();
  assert.equal(events.length, 0);
  assert.equal(netlink.dumps, 1);
  clock.advance(3000);
  await flush();
  assert.deepEqual(summary(events), ["eo1 changed"]);
  const e = events[0];
  if (e?.type !== "network_change" || "status" in e.data) throw new Error("expected a change");
  const data = e.data;
  assert.deepEqual(data.ipv4_addresses.map((a) => a.subnet), ["203.0.113.0/24"]);
  assert.equal(netlink.dumps, 2);
});

Deno.test("link down is published at once, and not again after the re-dump", async () => {
  const { clock, netlink, events, monitor } = await setup();
  const down: LinkMessage = { ...link(netlink.dump, "eo1"), operstate: 2, flags: C.IFF_UP };
  netlink.dump.links = netlink.dump.links.map((l) => l.name === "eo1" ? down : l);
  monitor.handle({ messages: [down], overflow: false });
  assert.deepEqual(summary(events), ["eo1 down"]);
  clock.advance(3000);
  await flush();
  assert.deepEqual(summary(events), ["eo1 down"]);
  assert.deepEqual(monitor.interfaces.map((i) => i.interface), ["eo0", "eo0p", "eo1p"]);
});

Deno.test("ENOBUFS: removals are published at once, other changes wait for the debounce", async () => {
  const { clock, netlink, events, monitor } = await setup();
  netlink.dump.links = netlink.dump.links.filter((l) => l.name !== "eo1");
  netlink.dump.routes = [];
  monitor.handle({ messages: [], overflow: true });
  await flush();
  assert.deepEqual(summary(events), ["eo1 removed"]);
  clock.advance(3000);
  await flush();
  assert.deepEqual(summary(events), ["eo1 removed", "eo0 changed"]);
  assert.equal(monitor.counters.overflows, 1);
});

Deno.test("resync with nothing changed publishes nothing", async () => {
  const { events, monitor } = await setup();
  assert.equal(await monitor.resync("test"), 0);
  assert.equal(events.length, 0);
});

Deno.test("a failing dump is counted, logged and retried after the next quiet period", async () => {
  const { clock, netlink, monitor } = await setup();
  const real = netlink.dumpAll.bind(netlink);
  netlink.dumpAll = () => Promise.reject(new Error("Cannot dump links: socket closed"));
  await assert.rejects(monitor.resync("test"), /socket closed/);
  assert.equal(monitor.counters.dump_failures, 1);
  assert.equal(monitor.counters.dump_failures_in_a_row, 1);
  netlink.dumpAll = real;
  clock.advance(3000);
  await flush();
  assert.equal(monitor.counters.dumps, 2);
  assert.equal(monitor.counters.dump_failures_in_a_row, 0);
});

Deno.test("a link reported down and then deleted is published down, then removed", async () => {
  const { netlink, events, monitor } = await setup();
  const eo1 = link(netlink.dump, "eo1");
  monitor.handle({ messages: [{ ...eo1, operstate: 2, flags: C.IFF_UP }], overflow: false });
  monitor.handle({ messages: [{ ...eo1, op: "del" }], overflow: false });
  assert.deepEqual(summary(events), ["eo1 down", "eo1 removed"]);
  // In one batch only the last state counts.
  const eo0 = link(netlink.dump, "eo0");
  monitor.handle({
    messages: [{ ...eo0, operstate: 2, flags: C.IFF_UP }, { ...eo0, op: "del" }],
    overflow: false,
  });
  assert.deepEqual(summary(events), ["eo1 down", "eo1 removed", "eo0 removed"]);
});

Deno.test("resendAll re-publishes every interface as a full change, stamped now", async () => {
  const { clock, events, monitor } = await setup();
  clock.advance(30_000);
  const names = monitor.interfaces.map((i) => i.interface);
  assert.ok(names.includes("eo0") && names.includes("eo1"));
  assert.equal(monitor.resendAll(), names.length);
  assert.deepEqual(summary(events), names.map((n) => `${n} changed`));
  for (const e of events) {
    assert.ok(e.type === "network_change" && !("status" in e.data));
    assert.equal(e.data.timestamp, "2026-11-25T12:00:30.000Z");
  }
  assert.equal(monitor.counters.resent, names.length);
  assert.equal(monitor.counters.changes_published, 0, "a re-send is not a change");
  await monitor.stop();
  assert.equal(monitor.resendAll(), 0);
});
