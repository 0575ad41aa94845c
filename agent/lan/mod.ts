/**
 * The plant LAN: a DHCP client per DHCP vNIC ({@linkcode DhcpSupervisor}), the pure lease core
 * (states, persistence merge, resolver text), and the guard rails (pure host/gateway check, ARP
 * probe). Wiring: docs/decisions/0010-dhcp-per-vnic.md.
 *
 * @module
 */
export { DhcpSupervisor, type DhcpVnic, type EnsureResult } from "./dhcp_supervisor.ts";
export {
  type Lease,
  type LeaseState,
  type LeaseView,
  mergeLease,
  type PersistedDhcp,
  toStatusLease,
} from "./lease.ts";
export { checkVnicAgainstLan, type GuardRefusal, parseProcNetArp } from "./guard.ts";
export { arpProbe, PROBE_DEADLINE_MS, type ProbeResult } from "./arp_probe.ts";
export { arpNeighbours } from "./arp_probe.ts";
export { nsenterRunner, shellResolv } from "./ports.ts";
