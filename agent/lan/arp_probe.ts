/**
 * ARP probe (RFC 5227 §2.1.1: an ARP request with sender address 0.0.0.0, so no neighbour learns
 * anything): is an IPv4 address already used on a LAN? busybox `arping -D` run through the
 * {@link NetnsRunner}, either in the host namespace on the parent (pid 1, before the runtime is
 * created: sees every LAN host) or in a runtime's namespace on its interface.
 *
 * @module
 */
import { isIpv4 } from "./lease.ts";
import { type Neighbour, parseArpingReply, parseProcNetArp } from "./guard.ts";
import type { NetnsRunner } from "./ports.ts";

/**
 * How long to wait for an answer. RFC 5227 asks for 3 probes over 1-2 s; issue 12 asks for a few
 * hundred ms, which is enough on a LAN (answers take well under 10 ms, measured 0.01 s on veth).
 * busybox arping counts in whole seconds, so a shell loop ends it early.
 */
export const PROBE_DEADLINE_MS = 400;

/** Result of a probe. */
export type ProbeResult = { taken: false } | { taken: true; mac: string };

/** Probe parameters. */
export interface ProbeRequest {
  /** A process in the namespace to probe from (1 = the host, with pid=host). */
  pid: number;
  /** Interface to send on (the parent, or the runtime's vNIC interface). */
  iface: string;
  ip: string;
  deadlineMs?: number;
  busybox?: string;
}

/** Sends one probe and waits up to the deadline for an answer. */
export async function arpProbe(runner: NetnsRunner, req: ProbeRequest): Promise<ProbeResult> {
  if (!isIpv4(req.ip)) throw new TypeError(`Cannot probe "${req.ip}": not an IPv4 address`);
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(req.iface)) {
    throw new TypeError(`Cannot probe on "${req.iface}": not an interface name`);
  }
  const bb = req.busybox ?? "/bin/busybox";
  // Polls every 20 ms whether arping ended (it ends at the first reply in -D mode), so a taken
  // address answers in about the LAN's round trip; a free one costs the deadline.
  const rounds = Math.max(1, Math.ceil((req.deadlineMs ?? PROBE_DEADLINE_MS) / 20));
  const script = `"$0" arping -D -c 1 -w 1 -I "$1" "$2" & p=$!; i=0
while [ $i -lt ${rounds} ] && "$0" kill -0 $p 2>/dev/null; do "$0" usleep 20000; i=$((i+1)); done
"$0" kill $p 2>/dev/null; wait $p; echo "rc=$?"`;
  const out = await runner.run(req.pid, [bb, "sh", "-c", script, bb, req.iface, req.ip]);
  const mac = parseArpingReply(out);
  return mac ? { taken: true, mac } : { taken: false };
}

/** The neighbour table of a namespace (pid 1 = the host's, with pid=host), for the guard. */
export async function arpNeighbours(
  runner: NetnsRunner,
  pid = 1,
  busybox = "/bin/busybox",
): Promise<Neighbour[]> {
  return parseProcNetArp(await runner.run(pid, [busybox, "cat", "/proc/net/arp"]));
}
