/**
 * Restores a vNIC's persisted MAC inside a runtime's network namespace. Docker ignores the MAC
 * on `network connect` (moby/moby#48192, checked in environment.md) and derives one from the IP,
 * so after a re-wire the LAN would see a new MAC: switches, DHCP reservations and PLC peers that
 * pinned the old one would lose the runtime. We set it back with netlink from inside the
 * namespace (`nsenter -t <pid> -n ip ...`: the link must be down while its address changes) and
 * then read it back, because Docker's inspect keeps showing its own idea of the MAC.
 *
 * This is the one place the agent runs a program; `--allow-run=nsenter` is its only run grant.
 * Rejected alternatives: `docker exec` (the runtime image need not have `ip`), setting the MAC
 * through netmon (its socket deliberately accepts no state-changing command).
 *
 * @module
 */

/** A link inside a namespace. */
export interface NsLink {
  /** Interface name inside the namespace. */
  name: string;
  /** Lower-case MAC. */
  mac: string;
}

/** Narrow port to a network namespace (injected; the real one spawns nsenter). */
export interface NamespacePort {
  /** Lists the links of the namespace of `pid`. */
  links(pid: number): Promise<NsLink[]>;
  /** Sets `name`'s MAC (down, address, up) and returns the link as read back afterwards. */
  setMac(pid: number, name: string, mac: string): Promise<NsLink | undefined>;
}

/** Parses `ip -o link` output into links. Pure. */
export function parseIpLinks(text: string): NsLink[] {
  const out: NsLink[] = [];
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:.*?link\/ether\s+([0-9a-f:]{17})/.exec(line);
    if (m) out.push({ name: m[1]!, mac: m[2]! });
  }
  return out;
}

async function run(args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("nsenter", {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new Error(`nsenter ${args.join(" ")} failed: ${err || out.code}`);
  return new TextDecoder().decode(out.stdout);
}

/** The real namespace port: `nsenter -t <pid> -n ip ...`. */
export const nsenterPort: NamespacePort = {
  async links(pid) {
    return parseIpLinks(await run(["-t", String(pid), "-n", "ip", "-o", "link", "show"]));
  },
  async setMac(pid, name, mac) {
    // One `ip -batch` so the link is down for the shortest time (one process, three netlink
    // requests, then a read-back): the PLC's other links and its process are untouched.
    const out = await run(
      ["-t", String(pid), "-n", "ip", "-o", "-batch", "-"],
      `link set dev ${name} down\nlink set dev ${name} address ${mac}\nlink set dev ${name} up\n` +
        `link show dev ${name}\n`,
    );
    return parseIpLinks(out)[0];
  },
};

/**
 * Puts `wanted` back on the link that currently has `current` (the MAC Docker reported for the
 * new endpoint), then verifies inside the namespace. Returns the interface name.
 */
export async function restoreMac(
  ns: NamespacePort,
  pid: number,
  current: string,
  wanted: string,
): Promise<string> {
  const before = await ns.links(pid);
  const already = before.find((l) => l.mac === wanted.toLowerCase());
  if (already) return already.name;
  const link = before.find((l) => l.mac === current.toLowerCase());
  if (!link) {
    throw new Error(
      `Cannot restore MAC ${wanted} in the namespace of pid ${pid}: no link has ${current} ` +
        `(links: ${before.map((l) => `${l.name}=${l.mac}`).join(", ")})`,
    );
  }
  const after = await ns.setMac(pid, link.name, wanted.toLowerCase());
  if (after?.mac !== wanted.toLowerCase()) {
    throw new Error(`MAC of ${link.name} in pid ${pid} is not ${wanted} after setting it`);
  }
  return link.name;
}
