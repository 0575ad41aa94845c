/**
 * The reconciliation planner: `plan(desired, observed) → steps`. Pure: no clock, no I/O. It
 * never plans to restart or recreate a running runtime for something that can be fixed live
 * (networks are connected and disconnected on the running container), and never starts a runtime
 * the cloud stopped. A converged state plans nothing but reports (idempotence).
 *
 * @module
 */
import { cidrContains } from "../../contracts/mod.ts";
import type { ContainerInfo, NetworkInfo } from "../docker/port.ts";
import { internalNetworkName, isManaged, macvlanNetworkName } from "../runtimes/naming.ts";
import type { DesiredRuntime, Member, Observed, Step, TargetNetwork } from "./types.ts";

/** Subnet of a network's first IPAM pool. */
function subnetOf(n: NetworkInfo): string | undefined {
  return n.subnets[0]?.subnet;
}

/** The MACVLAN network on a parent (Docker allows at most one per parent). */
function macvlanOn(networks: NetworkInfo[], parent: string): NetworkInfo | undefined {
  return networks.find((n) => n.driver === "macvlan" && n.options.parent === parent);
}

function attachedTo(c: ContainerInfo | undefined, network: string): boolean {
  return c !== undefined && Object.hasOwn(c.networks, network);
}

/** Plans one pass. */
export function plan(desired: DesiredRuntime[], observed: Observed): Step[] {
  const steps: Step[] = [];
  const containers = new Map(observed.containers.map((c) => [c.name, c]));
  const networks = new Map(observed.networks.map((n) => [n.name, n]));
  // Batches per parent: every move on one parent is one step, as Docker needs (one network per
  // parent: the old one must be gone before the new one can exist).
  const rewires = new Map<string, Extract<Step, { kind: "rewire_parent" }>>();
  const attaches = new Map<string, Extract<Step, { kind: "attach" }>>();

  for (const rt of desired) {
    const c = containers.get(rt.name);
    if (!c) {
      steps.push({ kind: "recreate_runtime", runtime: rt.name });
      continue;
    }
    const internal = internalNetworkName(rt.name);
    if (!networks.has(internal)) steps.push({ kind: "create_internal_network", runtime: rt.name });
    if (!attachedTo(c, internal)) steps.push({ kind: "connect_internal", runtime: rt.name });

    for (const v of rt.vnics) {
      const report = (problem: Extract<Step, { kind: "report" }>["problem"]) =>
        steps.push({ kind: "report", runtime: rt.name, vnic: v.name, problem });
      if (!observed.parents.synced) continue; // no picture of the host yet: change nothing
      const parent = observed.parents.get(v.parent_interface);
      if (parent.state !== "up") {
        report({ code: "parent_unavailable", parent: v.parent_interface, state: parent.state });
        continue;
      }
      const subnet = parent.subnet ?? v.parent_subnet ?? null;
      if (!subnet) {
        report({ code: "parent_without_ipv4", parent: v.parent_interface });
        continue;
      }
      const current = macvlanOn(observed.networks, v.parent_interface);
      const conflict = v.network_mode === "manual" && v.ip_address !== undefined &&
        !cidrContains(subnet, v.ip_address);
      const member: Member = { runtime: rt.name, vnic: v.name, mac: v.mac_address };
      if (v.network_mode === "manual" && v.ip_address) member.ipv4 = v.ip_address;
      if (conflict) report({ code: "ip_outside_subnet", ip: v.ip_address!, subnet });

      if (current && subnetOf(current) !== subnet) {
        const batch = rewires.get(v.parent_interface) ?? {
          kind: "rewire_parent" as const,
          parent: v.parent_interface,
          from: current.name,
          detach: [],
          to: target(v.parent_interface, subnet, parent.gateway, undefined),
          members: [],
        };
        rewires.set(v.parent_interface, batch);
        if (conflict) {
          if (attachedTo(c, current.name)) batch.detach.push({ runtime: rt.name, vnic: v.name });
        } else batch.members.push(member);
        continue;
      }
      if (conflict) continue;
      if (current && attachedTo(c, current.name)) {
        // Attached: converged, unless the MAC inside was never put back (an agent killed between
        // connect and restore) - checked once per Docker endpoint, not on every pass.
        const ep = c.networks[current.name];
        if (
          c.running && ep?.mac && observed.macVerified &&
          !observed.macVerified(rt.name, current.name, ep.mac)
        ) {
          steps.push({
            kind: "restore_mac",
            runtime: rt.name,
            network: current.name,
            mac: v.mac_address,
          });
        }
        continue;
      }
      const to = target(v.parent_interface, subnet, parent.gateway, current);
      const batch = attaches.get(to.name) ?? { kind: "attach" as const, to, members: [] };
      attaches.set(to.name, batch);
      batch.members.push(member);
    }

    if (observed.crashLooping.has(rt.name)) {
      steps.push({ kind: "report", runtime: rt.name, vnic: null, problem: { code: "crash_loop" } });
      if (c.running) steps.push({ kind: "stop", runtime: rt.name });
    } else if (rt.running && (!c.running || c.restartPolicy === "no")) {
      // Also when it runs with policy `no` (e.g. stopped by an older agent): start sets `always`.
      steps.push({ kind: "start", runtime: rt.name });
    } else if (!rt.running && (c.running || c.restartPolicy === "always")) {
      // Also a stopped one still on `always`: the daemon would start it at its next restart.
      steps.push({ kind: "stop", runtime: rt.name });
    }
  }
  // A rewire also carries the runtimes on the old network that have no desired vNIC there any
  // more? No: only desired vNICs are moved; anything else attached makes the removal fail, which
  // the executor reports. Rewires run before attaches so a freed parent can take a new network.
  steps.push(...rewires.values(), ...attaches.values());
  steps.push(...orphans(desired, observed));
  return steps;
}

function target(
  parent: string,
  subnet: string,
  gateway: string | null,
  existing: NetworkInfo | undefined,
): TargetNetwork {
  if (existing) {
    return { name: existing.name, parent, subnet, gateway, exists: true };
  }
  return { name: macvlanNetworkName(parent, subnet), parent, subnet, gateway, exists: false };
}

/**
 * Objects with our labels that no desired runtime wants: left by an interrupted create or
 * delete, or by hand. Reported and removed (a runtime the cloud wants is never among them).
 * Nothing is removed while any cloud operation runs: a create in flight owns objects that are
 * not in the desired state yet.
 */
function orphans(desired: DesiredRuntime[], observed: Observed): Step[] {
  const busy = observed.busy ?? new Set<string>();
  const own = observed.own ?? isManaged;
  const names = new Set(desired.map((d) => d.name));
  const out: Step[] = [];
  const orphan = (kind: "container" | "network", name: string) => {
    out.push({
      kind: "report",
      runtime: null,
      vnic: null,
      problem: { code: kind === "container" ? "orphan_container" : "orphan_network", name },
    });
    if (busy.size === 0) {
      out.push(
        kind === "container"
          ? { kind: "remove_container", name }
          : { kind: "remove_network", name },
      );
    }
  };
  for (const c of observed.containers) {
    if (own(c.labels) && !names.has(c.name) && !busy.has(c.name)) orphan("container", c.name);
  }
  const wanted = new Set(desired.map((d) => internalNetworkName(d.name)));
  const inUse = new Set(desired.flatMap((d) => d.vnics.map((v) => v.parent_interface)));
  for (const n of observed.networks) {
    if (!own(n.labels) || wanted.has(n.name)) continue;
    if ([...busy].some((b) => n.name === internalNetworkName(b))) continue;
    // A MACVLAN network is shared: an orphan only when nobody is attached and no desired vNIC
    // sits on its parent (that vNIC would be attached to it by this very plan).
    if (n.driver === "macvlan" && (n.containers.length > 0 || inUse.has(n.options.parent ?? ""))) {
      continue;
    }
    orphan("network", n.name);
  }
  return out;
}

/** Whether a plan changes anything (reports alone do not). */
export function isConverged(steps: Step[]): boolean {
  return steps.every((s) => s.kind === "report");
}
