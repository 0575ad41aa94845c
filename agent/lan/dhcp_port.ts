/**
 * The DHCP port the executor uses, over {@linkcode DhcpSupervisor}, started on first need: a box
 * with no DHCP vNIC runs no supervision tick at all (the agent's idle CPU budget is 0.13 % of a
 * core). It starts at once when a previous agent left clients on file, so they are pruned or
 * adopted.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { DhcpSupervisor, type DhcpVnic, type EnsureResult } from "./dhcp_supervisor.ts";
import type { LeaseView } from "./lease.ts";
import { nsenterRunner, shellResolv } from "./ports.ts";

/** What the executor and the status view need of DHCP. */
export interface DhcpPort {
  /** Makes sure each DHCP vNIC of a running runtime has its client (idempotent). */
  ensure(
    runtime: string,
    pid: number,
    vnics: DhcpVnic[],
    opts?: { staticDns?: string[] },
  ): Promise<EnsureResult[]>;
  /** DHCPRELEASE, clients ended, lease kept on file (a stop). */
  stop(runtime: string): Promise<void>;
  /** DHCPRELEASE and everything forgotten (a removal). */
  release(runtime: string): Promise<void>;
  /** Releases runtimes on file that are not in `keep` (deleted while the agent was down). */
  prune(keep: Iterable<string>): Promise<void>;
  /** The runtime's DHCP vNICs were moved to another LAN (a subnet move re-wired their parent):
   * their leases do not hold there, so they are reported as lost (no address) until the next
   * one; the next `ensure` starts the clients on the new interfaces. */
  moved(runtime: string): void;
  /** Lease of each supervised vNIC of a runtime. */
  leases(runtime: string): Record<string, LeaseView>;
  /** Lease changes. */
  onChange(cb: (runtime: string, vnic: string, view: LeaseView) => void): void;
  /** Stops supervising (clients keep running for the next agent). */
  close(): void;
}

/** The real port: a supervisor under `<stateDir>/dhcp`, started on first use. */
export function lazyDhcp(stateDir: string, log: Logger): DhcpPort {
  let sup: DhcpSupervisor | null = null;
  let starting: Promise<DhcpSupervisor> | null = null;
  const listeners: ((runtime: string, vnic: string, view: LeaseView) => void)[] = [];
  const get = (): Promise<DhcpSupervisor> => {
    starting ??= (async () => {
      const s = new DhcpSupervisor({
        stateDir,
        runner: nsenterRunner,
        resolv: shellResolv(nsenterRunner),
        log,
      });
      for (const l of listeners) s.onChange(l);
      await s.start();
      sup = s;
      return s;
    })();
    return starting;
  };
  const onFile = async () => {
    try {
      return (await Deno.stat(`${stateDir}/dhcp`)).isDirectory;
    } catch {
      return false;
    }
  };
  return {
    async ensure(runtime, pid, vnics, opts) {
      return await (await get()).ensure(runtime, pid, vnics, opts);
    },
    async stop(runtime) {
      if (sup || await onFile()) await (await get()).stop(runtime);
    },
    async release(runtime) {
      if (sup || await onFile()) await (await get()).release(runtime);
    },
    async prune(keep) {
      if (sup || await onFile()) await (await get()).prune(keep);
    },
    moved(runtime) {
      sup?.moved(runtime);
    },
    leases(runtime) {
      return sup?.leases(runtime) ?? {};
    },
    onChange(cb) {
      listeners.push(cb);
      sup?.onChange(cb);
    },
    close() {
      sup?.close();
    },
  };
}
