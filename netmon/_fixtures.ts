/**
 * Test helper: loads the captured netlink fixtures (netmon/testdata/*.hex). Needs --allow-read.
 *
 * @module
 */
import type { NetlinkDump } from "./netlink_client.ts";
import { decodeDatagram } from "./netlink_decode.ts";
import type { AddressMessage, LinkMessage, RouteMessage } from "./netlink_parser.ts";

/** Fixture names, without `.hex`. */
export type FixtureName = "link_dump" | "addr_dump" | "route_dump" | "error_enodev" | "events";

/** The datagrams of one fixture file. */
export function datagrams(name: FixtureName): Uint8Array[] {
  const text = Deno.readTextFileSync(new URL(`./testdata/${name}.hex`, import.meta.url));
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((line) =>
    Uint8Array.from(line.match(/../g) ?? [], (h) => parseInt(h, 16))
  );
}

/** The three captured dumps as one NetlinkDump (the namespace of testdata/README.md). */
export function capturedDump(): NetlinkDump {
  const all = (n: FixtureName) => datagrams(n).flatMap((d) => decodeDatagram(d));
  return {
    links: all("link_dump").filter((m): m is LinkMessage => m.kind === "link"),
    addrs: all("addr_dump").filter((m): m is AddressMessage => m.kind === "addr"),
    routes: all("route_dump").filter((m): m is RouteMessage => m.kind === "route"),
    retries: 0,
    interrupted: false,
  };
}
