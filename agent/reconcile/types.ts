/**
 * Shapes of the reconciliation: desired state (what the cloud asked for, from disk), the
 * observed state (Docker by our labels + netmon's interface cache), the planner's context, and
 * the steps it returns. Steps are data (a discriminated union); the executor maps each kind to
 * its effect, and the compiler checks that every kind has one.
 *
 * @module
 */
import type { StoredVnic } from "../../contracts/mod.ts";
import type { ContainerInfo, ContainerSpec, NetworkInfo, NetworkSpec } from "../docker/port.ts";
import type { DesiredRuntime } from "../runtimes/desired.ts";

export type { DesiredRuntime };

/** What netmon says about one parent interface. */
export type ParentState =
  | { state: "up"; subnet: string | null; gateway: string | null }
  | { state: "down" | "removed" | "unknown" };

/** Everything observed in one pass. Observation is all or nothing: a failed list or inspect
 * fails the pass (a partial picture would make present runtimes look absent). */
export interface Observed {
  /** Runtime containers in the agent's scope (labelled, inspected). */
  containers: ContainerInfo[];
  /** Every MACVLAN network (ours or not: an existing pool is reused) and our internal ones. */
  networks: NetworkInfo[];
  /** Parent interface name to its state; `synced` false until netmon sent a discovery. */
  parents: { synced: boolean; get(name: string): ParentState };
  /** Runtimes that died too often recently: left stopped and reported. */
  crashLooping: ReadonlySet<string>;
  /** Whether the LAN-facing MAC of a runtime's endpoint was verified inside its namespace since
   * Docker last reported `dockerMac` for it (Docker's inspect keeps its own, stale MAC). */
  macVerified?: (runtime: string, network: string, dockerMac: string) => boolean;
  /** Whether labels mark an object as this agent's (default: our managed label). */
  own?: (labels: Record<string, string>) => boolean;
  /** What the DHCP clients of a runtime were last made sure of (see `dhcpKey` in plan.ts). */
  dhcpKey?: (runtime: string) => string | undefined;
}

/** What the planner reads besides desired and observed (all injected: no clock, no I/O). */
export interface PlanContext {
  /** The "doubt" rule: true once, in this process, the desired state was loaded completely and
   * Docker was observed completely. Before that nothing destructive is planned. */
  trusted: boolean;
  /** Labels of every object we create (the agent's scope, tests' label). */
  labels: Record<string, string>;
  /** The agent's own container id when it runs in one (it joins every internal bridge). */
  selfContainer: string | null;
  /** Runtimes the cloud asked to restart (one-shot requests, cleared when done). */
  restarts: ReadonlySet<string>;
  /** `delete_orchestrator` was ordered. */
  selfDestruct: boolean;
  /** What the engine can do: MACs of every endpoint at create (API >= 1.44); real-time ulimits. */
  engine: { macsAtCreate: boolean; ulimits: boolean };
  /** DHCP clients left by a previous agent were pruned (once per process, after trust). */
  dhcpPruned?: boolean;
  /** Runtimes the original (Python) agent left (name to the vNICs its file recorded): their
   * unlabelled containers are adopted. */
  legacy?: ReadonlyMap<string, StoredVnic[]>;
}

/** One vNIC to (re)connect in a batch. */
export interface Member {
  /** Runtime container. */
  runtime: string;
  /** vNIC name. */
  vnic: string;
  /** Static IPv4 (manual mode), or undefined for DHCP/IPAM. */
  ipv4?: string;
  /** MAC to restore inside the runtime's namespace after connecting. */
  mac: string;
}

/** A MACVLAN network to get or create. */
export interface TargetNetwork {
  /** Name (`macvlan_<parent>_<subnet>`), or the existing network of that parent and subnet. */
  name: string;
  /** Parent interface. */
  parent: string;
  /** Parent LAN. */
  subnet: string;
  /** Parent LAN gateway, when known. */
  gateway: string | null;
  /** Whether it already exists (reuse), or must be created. */
  exists: boolean;
}

/** A reconciliation step. Runtime steps run in that runtime's lane, in order; parent steps in the
 * parent's lane after every runtime lane; global steps last, one after the other. */
export type Step =
  /** A labelled runtime in no desired state: recorded and kept running, never removed. */
  | { kind: "adopt"; runtime: string; desired: DesiredRuntime }
  /** Pull with local fallback (in the background: a long pull holds no pass). */
  | { kind: "pull_image"; runtime: string; image: string }
  | { kind: "create_internal_network"; runtime: string }
  /** Before a first create brings a static address up: an ARP probe on the LAN (RFC 5227); an
   * answer means another host has it, and the create fails naming that host's MAC. */
  | { kind: "probe_address"; runtime: string; vnic: number; parent: string; ip: string }
  | { kind: "ensure_macvlan"; runtime: string; network: NetworkSpec }
  /** The container with every endpoint and MAC (all at create on API >= 1.44); `networks[i]` is
   * the MACVLAN network of vNIC i (recorded in the desired state). */
  | { kind: "create_container"; runtime: string; spec: ContainerSpec; networks: string[] }
  | { kind: "connect_internal"; runtime: string }
  | { kind: "start"; runtime: string }
  /** `removing`: a tombstone's stop, the container is removed right after (its restart policy
   * is left as it is: one Docker call less per delete, and a crash in between still ends in the
   * tombstone's removal). */
  | { kind: "stop"; runtime: string; removing?: true }
  | { kind: "restart"; runtime: string }
  /** Records the internal IP (read after start), joins the agent's container to the internal
   * bridge, ends a first create. */
  | { kind: "settle"; runtime: string }
  /** A first create cannot go on: it becomes a tombstone that removes what it made. */
  | { kind: "fail_create"; runtime: string; error: string }
  /** Only for a tombstone (an explicit delete, a failed first create, self-destruct). */
  | { kind: "remove_container"; runtime: string }
  /** The tombstone is done. */
  | { kind: "forget"; runtime: string }
  | { kind: "restore_mac"; runtime: string; network: string; mac: string }
  /** A DHCP client per DHCP vNIC of a running runtime (agent/lan); `key` is what it is made
   * sure of (the container's pid and the vNICs' networks), so a converged runtime plans none.
   * Without `key` (right after a create's start, when no observation has the pid yet) the
   * executor takes it from its own inspect: the first lease does not wait for another pass. */
  | { kind: "dhcp_ensure"; runtime: string; key?: string }
  /** Clients of runtimes deleted while the agent was down are released. */
  | { kind: "dhcp_prune"; keep: string[] }
  | {
    kind: "rewire_parent";
    parent: string;
    /** The network to leave and remove (it has the wrong subnet). */
    from: string;
    /** Runtimes to disconnect from `from` that will not come back (e.g. manual IP conflict). */
    detach: { runtime: string; vnic: string }[];
    to: TargetNetwork;
    members: Member[];
  }
  | { kind: "attach"; to: TargetNetwork; members: Member[] }
  /** A network of ours no runtime uses; `detach`: containers that may still be attached (the
   * agent itself, the runtime being deleted) and are disconnected first. */
  | { kind: "remove_network"; name: string; detach: string[] }
  | { kind: "remove_netmon" }
  | { kind: "remove_self" }
  | { kind: "report"; runtime: string | null; vnic: string | null; problem: Problem };

/** Where a step runs. */
export type Lane = { kind: "runtime"; runtime: string } | { kind: "parent"; parent: string } | {
  kind: "global";
};

/** The lane of a step (see {@linkcode Step}). */
export function laneOf(step: Step): Lane {
  switch (step.kind) {
    case "rewire_parent":
      return { kind: "parent", parent: step.parent };
    case "attach":
      return { kind: "parent", parent: step.to.parent };
    case "remove_network":
    case "dhcp_prune":
    case "remove_netmon":
    case "remove_self":
    case "report":
      return { kind: "global" };
    default:
      return { kind: "runtime", runtime: step.runtime };
  }
}

/** Steps that destroy or interrupt something: never planned before trust. */
export const DESTRUCTIVE: ReadonlySet<Step["kind"]> = new Set<Step["kind"]>([
  "remove_container",
  "remove_network",
  "stop",
  "restart",
  "rewire_parent",
  "remove_netmon",
  "remove_self",
  "forget",
  "fail_create",
  "dhcp_prune",
]);

/** Things the planner cannot or must not fix; shown in `get_device_status` and the log. */
export type Problem =
  | { code: "parent_unavailable"; parent: string; state: "down" | "removed" | "unknown" }
  | { code: "parent_without_ipv4"; parent: string }
  | { code: "ip_outside_subnet"; ip: string; subnet: string }
  | { code: "crash_loop" }
  /** A labelled runtime that no desired state listed: adopted (kept running). */
  | { code: "adopted"; name: string }
  /** Runtimes are left alone until the state is known (see `PlanContext.trusted`). */
  | { code: "state_unknown" }
  /** A repair step Docker refused; retried with a growing delay (2 s to 60 s). */
  | { code: "step_failed"; step: Step["kind"]; error: string }
  /** Docker's macvlan driver holds a removed network on this parent (see `failureProblem`). */
  | { code: "docker_stale_parent"; parent: string; holder: string };
