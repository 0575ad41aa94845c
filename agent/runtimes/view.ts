/**
 * The read-only view of runtimes that handlers get: names, status, the API endpoint of a runtime.
 * It reads the desired state, the operation tracker, the reconciler's problems and Docker's
 * inspect; it changes nothing.
 *
 * @module
 */
import { cidrContains, ORCHESTRATOR_DEVICE_ID } from "../../contracts/mod.ts";
import { INTERNAL_POOL } from "../docker/internal_pool.ts";
import type { ContainerInfo } from "../docker/port.ts";
import type { DesiredState } from "./desired.ts";
import type { Operations } from "./operations.ts";
import { notFound, presentStatus } from "./status.ts";
import { type LeaseView, toStatusLease } from "../lan/lease.ts";

/** Docker's default address pools for bridges (172.17.0.0/16 to 172.31.0.0/16, 192.168.0.0/16
 * in /20s): where the original agent's `<name>_internal` bridges got their subnets. */
const DOCKER_POOLS = ["172.16.0.0/12", "192.168.0.0/16"];

/** Whether an internal IP lies where the agent's internal bridges live. */
export function internalAddress(ip: string, legacy: boolean): boolean {
  try {
    if (cidrContains(INTERNAL_POOL, ip)) return true;
    return legacy && DOCKER_POOLS.some((p) => cidrContains(p, ip));
  } catch {
    return false;
  }
}

/** One problem as shown in `network_problems`. */
export interface ShownProblem {
  /** vNIC concerned, or null. */
  vnic: string | null;
  /** Machine code. */
  code: string;
  /** Human line. */
  message: string;
}

/** What the view reads. */
export interface ViewDeps {
  /** The desired state. */
  desired: DesiredState;
  /** Operation status. */
  ops: Operations;
  /** Reads a container (Docker inspect). */
  inspect(name: string): Promise<ContainerInfo | null>;
  /** Problems the reconciler could not fix, per runtime. */
  problems(runtime: string): ShownProblem[];
  /** What could not be honoured per runtime (ulimits, MACs on old engines). */
  warnings(runtime: string): string[] | undefined;
  /** Whether the agent trusts its picture yet (else status says so). */
  trusted(): boolean;
  /** DHCP leases of a runtime's vNICs, by vNIC name. */
  leases?(runtime: string): Record<string, LeaseView>;
  /** Readiness of a running runtime whose image has no health check (GET /api/version). */
  probe?(runtime: string): Promise<"healthy" | "unhealthy" | "starting">;
  /** Clock. */
  now(): Date;
}

/** The read-only runtime view. */
export class RuntimeView {
  #d: ViewDeps;

  /** Builds the view. */
  constructor(deps: ViewDeps) {
    this.#d = deps;
  }

  /** Names of the runtimes the cloud has (tombstones excluded). */
  names(): string[] {
    return this.#d.desired.list().filter((r) => r.phase !== "deleting").map((r) => r.name);
  }

  /** Whether a runtime is this agent's (and not being deleted). */
  has(name: string): boolean {
    const r = this.#d.desired.get(name);
    return r !== undefined && r.phase !== "deleting";
  }

  /** A runtime's container, when it is this agent's runtime. */
  async inspect(name: string): Promise<ContainerInfo | null> {
    if (!this.has(name)) return null;
    return await this.#d.inspect(name);
  }

  /** Where a runtime's API is (internal IP, pinned fingerprint); null when not ours. An IP read
   * from disk is used only inside the agent's own internal pool (a runtime of the original agent:
   * inside Docker's private bridge pools), so an edited state file cannot point run_command at
   * another host. */
  endpoint(name: string): { ip: string | null; pin?: string } | null {
    const r = this.#d.desired.get(name);
    if (!r || r.phase === "deleting") return null;
    const ip = r.internal_ip && internalAddress(r.internal_ip, r.legacy === true)
      ? r.internal_ip
      : null;
    const pin = this.#d.desired.fingerprint(name);
    return pin ? { ip, pin } : { ip };
  }

  /** `get_device_status` body of a runtime (or `__orchestrator__`). */
  async status(device: string): Promise<Record<string, unknown>> {
    const d = this.#d;
    const op = d.ops.get(device);
    if (op && op.status !== "error") return { ...op };
    const info = device === ORCHESTRATOR_DEVICE_ID ? null : await this.inspect(device);
    if (op) {
      // An error clears once the device is healthy again.
      if (!info?.running) return { ...op };
      d.ops.clear(device);
    }
    if (!info) return notFound(device);
    const out: Record<string, unknown> = presentStatus(info, d.now());
    this.#dhcp(device, out);
    const health = await this.#health(info);
    if (health) out.health_status = health;
    const warnings = [...(d.warnings(device) ?? [])];
    // Doubt is said, not acted on: nothing is changed until Docker was observed (decision 0011).
    if (!d.trusted()) warnings.push("unverified: Docker was not observed since the agent started");
    if (warnings.length) out.warnings = warnings;
    const problems = d.problems(device);
    if (problems.length) out.network_problems = problems;
    return out;
  }

  /** A DHCP vNIC shows its lease, never Docker's IPAM address (removed before the first
   * DISCOVER): the leased address and router, or none while there is no lease, and its state. */
  #dhcp(device: string, out: Record<string, unknown>): void {
    const rt = this.#d.desired.get(device);
    const networks = out.networks as Record<string, Record<string, unknown>>;
    const leases = this.#d.leases?.(device) ?? {};
    for (const v of rt?.vnics ?? []) {
      if (v.network_mode !== "dhcp") continue;
      // By the network the vNIC was recorded on, or the parent's MACVLAN network it is on now
      // (a re-wire records the new one a moment after Docker shows it).
      const name = Object.keys(networks).find((n) =>
        n === v.docker_network_name || n.startsWith(`macvlan_${v.parent_interface}_`)
      );
      const net = name ? networks[name] : undefined;
      if (!net) continue;
      const view = leases[v.name];
      if (view) {
        net.ip_address = view.ip ?? null;
        net.gateway = view.gateway ?? null;
        net.dhcp = toStatusLease(view);
      } else {
        // Not supervised yet in this process (just started): the lease on file, being confirmed.
        net.ip_address = v.dhcp_ip ?? null;
        net.gateway = v.dhcp_gateway ?? null;
        net.dhcp = { state: "requesting" };
      }
    }
  }

  /** `health_status`: Docker's health check when the image has one, else the agent's probe of
   * the runtime's API; none for a stopped runtime. */
  async #health(info: ContainerInfo): Promise<string | null> {
    if (!info.running) return null;
    if (info.health === "starting" || info.health === "healthy" || info.health === "unhealthy") {
      return info.health;
    }
    return this.#d.probe ? await this.#d.probe(info.name).catch(() => "unhealthy") : null;
  }
}
