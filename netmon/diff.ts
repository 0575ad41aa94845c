/**
 * Pure snapshot diff: what to tell clients when the picture changed.
 *
 * @module
 */
import type { InterfaceGone, NetmonInterface } from "../contracts/mod.ts";
import type { LinkMessage } from "./netlink_parser.ts";
import { isPublishable, type Snapshot } from "./snapshot.ts";

/** One `network_change` payload. */
export type Change = NetmonInterface | InterfaceGone;

/** Everything of an interface that matters to clients (the timestamp does not). */
function sameInterface(a: NetmonInterface, b: NetmonInterface): boolean {
  return a.index === b.index && a.type === b.type && a.mac_address === b.mac_address &&
    a.gateway === b.gateway &&
    JSON.stringify(a.ipv4_addresses) === JSON.stringify(b.ipv4_addresses);
}

function gone(name: string, status: "down" | "removed", timestamp: string): InterfaceGone {
  return { interface: name, ipv4_addresses: [], status, timestamp };
}

/**
 * Changes from `before` to `after`, sorted by interface name: a full interface for every new or
 * changed one, `down` for one whose link is still there but no longer UP, `removed` for one
 * whose link is gone (or was renamed).
 */
export function diffSnapshots(
  before: ReadonlyMap<string, NetmonInterface>,
  after: Snapshot,
  timestamp: string,
): Change[] {
  const out: Change[] = [];
  for (const [name, now] of after.interfaces) {
    const was = before.get(name);
    if (!was || !sameInterface(was, now)) out.push(now);
  }
  for (const name of before.keys()) {
    if (after.interfaces.has(name)) continue;
    out.push(gone(name, after.linkNames.has(name) ? "down" : "removed", timestamp));
  }
  return out.sort((a, b) => a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0);
}

/**
 * What a single link event means at once, before any re-dump: a published interface whose link
 * was deleted is `removed`; one that is no longer UP is `down`; one renamed is `removed` under its
 * old name. Anything else waits for the debounced re-dump (null).
 */
export function immediateChange(
  published: ReadonlyMap<string, NetmonInterface>,
  link: LinkMessage,
  timestamp: string,
): InterfaceGone | null {
  const byIndex = [...published.values()].find((i) => i.index === link.index);
  if (!byIndex) return null;
  if (link.op === "del") return gone(byIndex.interface, "removed", timestamp);
  if (link.name !== undefined && link.name !== byIndex.interface) {
    return gone(byIndex.interface, "removed", timestamp);
  }
  return isPublishable(link) ? null : gone(byIndex.interface, "down", timestamp);
}
