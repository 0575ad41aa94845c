/**
 * Fixture capture, the netmon half: run inside a network namespace by
 * `scripts/capture_netlink_fixtures.ts` (which builds the namespace and makes the changes; it
 * runs this file as a program and never imports netmon). Writes every received datagram as one
 * hex line: `link_dump.hex`, `addr_dump.hex`, `route_dump.hex`, `error_enodev.hex`, then prints
 * `READY` and records events into `events.hex` until stdin closes.
 *
 * Usage: deno run --allow-ffi --allow-read --allow-write netmon/capture_tool.ts OUT_DIR
 *
 * @module
 */
import { openNetlinkSocket, type RawNetlinkSocket } from "./ffi.ts";
import * as C from "./netlink_constants.ts";
import { dumpRequest, encodeMessage } from "./netlink_encode.ts";
import { splitMessages } from "./netlink_parser.ts";

/** Same receive buffer as the monitor (see netlink_client.ts). */
const BUF = new Uint8Array(64 * 1024);
/** 4 MiB, as the monitor: no event of the capture run may be lost. */
const RCVBUF = 4 * 1024 * 1024;

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Reads datagrams until one holds NLMSG_DONE or NLMSG_ERROR. */
async function collect(sock: RawNetlinkSocket): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const r = sock.recv(BUF);
    if (r.kind === "again") {
      if (await sock.wait(2000) !== "readable") throw new Error("Cannot capture: no answer");
      continue;
    }
    if (r.kind !== "data") throw new Error("Cannot capture: receive buffer overflow");
    const d = BUF.slice(0, r.length);
    lines.push(hex(d));
    if (splitMessages(d).some((m) => m.header.type <= C.NLMSG_DONE)) return lines;
  }
}

async function save(dir: string, name: string, note: string, lines: string[]) {
  await Deno.writeTextFile(`${dir}/${name}`, `# ${note}\n${lines.join("\n")}\n`);
}

async function main(dir: string) {
  const events = (await openNetlinkSocket(
    C.RTMGRP_LINK | C.RTMGRP_IPV4_IFADDR | C.RTMGRP_IPV4_ROUTE,
    RCVBUF,
  )).socket;
  const dumps = (await openNetlinkSocket(0, RCVBUF)).socket;
  const kinds = [["link", "RTM_GETLINK"], ["addr", "RTM_GETADDR"], ["route", "RTM_GETROUTE"]];
  for (const [i, [kind, req]] of kinds.entries()) {
    dumps.send(dumpRequest(kind as "link" | "addr" | "route", 100 + i));
    await save(
      dir,
      `${kind}_dump.hex`,
      `${req} dump reply, one datagram per line`,
      await collect(dumps),
    );
  }
  // RTM_GETLINK for an ifindex that does not exist, with an ACK request: NLMSG_ERROR -ENODEV.
  const body = new Uint8Array(C.IFINFOMSG_LEN);
  new DataView(body.buffer).setInt32(4, 9999, true);
  dumps.send(encodeMessage(
    { type: C.RTM_GETLINK, flags: C.NLM_F_REQUEST | C.NLM_F_ACK, seq: 200, pid: 0 },
    body,
  ));
  await save(
    dir,
    "error_enodev.hex",
    "RTM_GETLINK ifindex 9999 -> NLMSG_ERROR",
    await collect(dumps),
  );

  const lines: string[] = [];
  let done = false;
  const stdinClosed = (async () => {
    for await (const _ of Deno.stdin.readable) { /* the script closes stdin when finished */ }
    done = true;
    await events.close();
  })();
  console.log("READY");
  while (!done) {
    const r = events.recv(BUF);
    if (r.kind === "data") lines.push(hex(BUF.slice(0, r.length)));
    else if (r.kind === "overflow") throw new Error("Cannot capture: events lost (ENOBUFS)");
    else if (await events.wait(-1) === "closed") break;
  }
  await stdinClosed;
  await dumps.close();
  await save(dir, "events.hex", "multicast events, one datagram per line", lines);
}

if (import.meta.main) await main(Deno.args[0] ?? "netmon/testdata");
