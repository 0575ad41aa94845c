import assert from "node:assert/strict";
import { datagrams, type FixtureName } from "./_fixtures.ts";
import type { RawNetlinkSocket, RecvResult } from "./ffi.ts";
import * as C from "./netlink_constants.ts";
import { NetlinkClient } from "./netlink_client.ts";

/** Replays captured replies, rewriting their seq to the request's; flags can be OR-ed in. */
class ReplaySocket implements RawNetlinkSocket {
  queue: Uint8Array[] = [];
  sent: number[] = [];
  constructor(readonly replies: (type: number, attempt: number) => Uint8Array[]) {}
  send(bytes: Uint8Array): void {
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const type = dv.getUint16(4, true);
    const seq = dv.getUint32(8, true);
    this.sent.push(type);
    for (const g of this.replies(type, this.sent.filter((t) => t === type).length)) {
      const copy = g.slice();
      const cv = new DataView(copy.buffer);
      for (let off = 0; off < copy.length; off += (cv.getUint32(off, true) + 3) & ~3) {
        cv.setUint32(off + 8, seq, true);
      }
      this.queue.push(copy);
    }
  }
  recv(buf: Uint8Array): RecvResult {
    const next = this.queue.shift();
    if (!next) return { kind: "again" };
    buf.set(next);
    return { kind: "data", length: next.length, truncated: false };
  }
  wait(): Promise<"readable" | "timeout" | "closed"> {
    throw new Error("Not implemented: wait");
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const FILES: Record<number, FixtureName> = {
  [C.RTM_GETLINK]: "link_dump",
  [C.RTM_GETADDR]: "addr_dump",
  [C.RTM_GETROUTE]: "route_dump",
};

function withFlag(grams: Uint8Array[], flag: number): Uint8Array[] {
  return grams.map((g) => {
    const copy = g.slice();
    const dv = new DataView(copy.buffer);
    for (let off = 0; off < copy.length; off += (dv.getUint32(off, true) + 3) & ~3) {
      dv.setUint16(off + 6, dv.getUint16(off + 6, true) | flag, true);
    }
    return copy;
  });
}

Deno.test("dumpAll collects links, IPv4 addresses and routes from captured replies", async () => {
  const dumps = new ReplaySocket((type) => datagrams(FILES[type]!));
  const client = new NetlinkClient(new ReplaySocket(() => []), dumps);
  const d = await client.dumpAll();
  assert.deepEqual(dumps.sent, [C.RTM_GETLINK, C.RTM_GETADDR, C.RTM_GETROUTE]);
  assert.equal(d.links.length, 5);
  assert.equal(d.addrs.length, 4);
  assert.ok(d.routes.length > 0);
  assert.equal(d.retries, 0);
  assert.equal(d.interrupted, false);
});

Deno.test("an NLM_F_DUMP_INTR dump is retried until clean", async () => {
  const dumps = new ReplaySocket((type, attempt) => {
    const grams = datagrams(FILES[type]!);
    return type === C.RTM_GETADDR && attempt <= 2 ? withFlag(grams, C.NLM_F_DUMP_INTR) : grams;
  });
  const d = await new NetlinkClient(new ReplaySocket(() => []), dumps).dumpAll();
  assert.equal(d.retries, 2);
  assert.equal(d.interrupted, false);
  assert.equal(d.addrs.length, 4);
});

Deno.test("a dump interrupted every time is used, flagged interrupted", async () => {
  const dumps = new ReplaySocket((type) => withFlag(datagrams(FILES[type]!), C.NLM_F_DUMP_INTR));
  const d = await new NetlinkClient(new ReplaySocket(() => []), dumps).dump("link");
  assert.equal(d.interrupted, true);
  assert.equal(d.messages.length, 5);
});

Deno.test("an NLMSG_ERROR answer fails the dump with the errno", async () => {
  const dumps = new ReplaySocket(() => datagrams("error_enodev"));
  await assert.rejects(
    new NetlinkClient(new ReplaySocket(() => []), dumps).dump("link"),
    /Cannot dump links: kernel answered errno 19/,
  );
});

Deno.test("nextEvents drains every readable datagram and marks garbage as lost", async () => {
  const events = new ReplaySocket(() => []);
  events.queue.push(
    ...datagrams("events"),
    Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
  );
  const batch = await new NetlinkClient(events, new ReplaySocket(() => [])).nextEvents();
  assert.ok(batch && batch.messages.length >= datagrams("events").length);
  assert.equal(batch?.overflow, true);
});
