/**
 * Shapes of the reconciliation: desired state (what the cloud last asked for, from disk), the
 * observed state (Docker by our labels + netmon's interface cache) and the steps the planner
 * returns. Steps are data (a discriminated union); the executor maps each kind to its effect.
 *
 * @module
 */
import type { StoredVnic } from "../../contracts/mod.ts";
import type { ContainerInfo, NetworkInfo } from "../docker/port.ts";

/** One runtime as the cloud last left it. */
export interface DesiredRuntime {
  /** Container name. */
  name: string;
  /** False when the cloud stopped it (the intent is persisted). */
  running: boolean;
  /** Its vNICs with the MAC actually used and the network last attached. */
  vnics: StoredVnic[];
}

/** What netmon says about one parent interface. */
export type ParentState =
  | { state: "up"; subnet: string | null; gateway: string | null }
  | { state: "down" | "removed" | "unknown" };

/** Everything observed in one pass. */
export interface Observed {
  /** Runtime containers carrying our labels (inspected). */
  containers: ContainerInfo[];
  /** Every MACVLAN network (ours or not: an existing pool is reused) and our internal ones. */
  networks: NetworkInfo[];
  /** Parent interface name to its state; `synced` false until netmon sent a discovery. */
  parents: { synced: boolean; get(name: string): ParentState };
  /** Runtimes that died too often recently: left stopped and reported. */
  crashLooping: ReadonlySet<string>;
  /** Runtimes a cloud operation holds right now: their objects are left alone this pass. */
  busy?: ReadonlySet<string>;
  /** Whether the LAN-facing MAC of a runtime's endpoint was verified inside its namespace since
   * Docker last reported `dockerMac` for it (Docker's inspect keeps its own, stale MAC). */
  macVerified?: (runtime: string, network: string, dockerMac: string) => boolean;
  /** Whether labels mark an object as this agent's (default: our managed label). */
  own?: (labels: Record<string, string>) => boolean;
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

/** A reconciliation step. */
export type Step =
  | { kind: "recreate_runtime"; runtime: string }
  | { kind: "create_internal_network"; runtime: string }
  | { kind: "connect_internal"; runtime: string }
  | { kind: "start"; runtime: string }
  | { kind: "stop"; runtime: string }
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
  | { kind: "restore_mac"; runtime: string; network: string; mac: string }
  | { kind: "remove_container"; name: string }
  | { kind: "remove_network"; name: string }
  | { kind: "report"; runtime: string | null; vnic: string | null; problem: Problem };

/** Things the planner cannot or must not fix; shown in `get_device_status` and the log. */
export type Problem =
  | { code: "parent_unavailable"; parent: string; state: "down" | "removed" | "unknown" }
  | { code: "parent_without_ipv4"; parent: string }
  | { code: "ip_outside_subnet"; ip: string; subnet: string }
  | { code: "crash_loop" }
  | { code: "orphan_container"; name: string }
  | { code: "orphan_network"; name: string }
  /** A repair step Docker refused; retried with a growing delay (2 s to 60 s). */
  | { code: "step_failed"; step: Step["kind"]; error: string }
  /** Docker's macvlan driver holds a removed network on this parent (see `failureProblem`). */
  | { code: "docker_stale_parent"; parent: string; holder: string };
