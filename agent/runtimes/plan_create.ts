/**
 * Pure planner of `create_new_runtime`: from the message, the observed Docker objects, the stored
 * vNICs of the other runtimes and the host interface view, the exact networks and container to
 * create, or the precise reason why not. No I/O: everything arrives as arguments.
 *
 * @module
 */
import {
  cidrContains,
  type CreateNewRuntime,
  type StoredVnic,
  type VnicConfig,
} from "../../contracts/mod.ts";
import type { ContainerSpec, NetworkInfo, NetworkSpec } from "../docker/port.ts";
import type { InterfaceView } from "./interface_view.ts";
import {
  internalLabels,
  internalNetworkName,
  macvlanLabels,
  macvlanNetworkName,
  runtimeLabels,
} from "./naming.ts";

/** Why a plan was refused (a condition callers show as the operation's error). */
export class PlanError extends Error {
  /** Builds a refusal. */
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** Everything the planner reads. */
export interface CreateContext {
  /** Image reference of the runtime (repository plus `runtime_version`). */
  image: string;
  /** Extra labels for every object (tests add `io.edge-orchestrator.test=1`). */
  extraLabels: Record<string, string>;
  /** Stored vNICs of every runtime (this one's, if any, gives back its MACs). */
  stored: Readonly<Record<string, StoredVnic[]>>;
  /** Every MACVLAN network Docker has, ours or not. */
  macvlans: NetworkInfo[];
  /** Host interfaces (netmon's view). */
  view: InterfaceView;
  /** Makes a fresh MAC not in `used`. */
  newMac: (used: ReadonlySet<string>) => string;
}

/** One MACVLAN network a vNIC lands on. */
export interface MacvlanTarget {
  /** Network to create, or to reuse when `existing` is set. */
  spec: NetworkSpec;
  /** Name of an existing network with the same parent and subnet (pool overlap reuse). */
  existing: string | null;
}

/** The plan. */
export interface CreatePlan {
  /** `<name>_internal`. */
  internal: NetworkSpec;
  /** One per vNIC, in vNIC order. */
  macvlans: MacvlanTarget[];
  /** vNICs as they will be stored. */
  vnics: StoredVnic[];
  /** The container, internal network first. */
  container: ContainerSpec;
}

/** The runtime needs real-time scheduling: rtprio 99 and unlimited locked memory (§7). */
const ULIMITS = [{ name: "rtprio", soft: 99, hard: 99 }, { name: "memlock", soft: -1, hard: -1 }];

function parentLan(v: VnicConfig, i: number, view: InterfaceView) {
  const iface = view.get(v.parent_interface);
  const addrs = iface?.ipv4_addresses ?? [];
  const subnet = v.parent_subnet ??
    (v.subnet && addrs.some((a) => a.subnet === v.subnet) ? v.subnet : addrs[0]?.subnet);
  if (!subnet) {
    const why = iface
      ? "has no IPv4 address"
      : "is not known to netmon (it does not exist or is down)";
    throw new PlanError(
      `vnic_configs[${i}]: parent interface "${v.parent_interface}" ${why}: give parent_subnet`,
    );
  }
  const inside = (g: string | null | undefined) => (g && cidrContains(subnet, g) ? g : undefined);
  const gateway = v.parent_gateway ?? inside(iface?.gateway) ?? inside(v.gateway);
  return { subnet, gateway };
}

function usedMacsOn(parent: string, runtime: string, ctx: CreateContext): Map<string, string> {
  const used = new Map<string, string>();
  for (const [name, vnics] of Object.entries(ctx.stored)) {
    if (name === runtime) continue;
    for (const v of vnics) if (v.parent_interface === parent) used.set(v.mac_address, name);
  }
  for (const n of ctx.macvlans) {
    if (n.options.parent !== parent) continue;
    for (const c of n.containers) {
      if (c.name !== runtime && c.mac) used.set(c.mac.toLowerCase(), c.name);
    }
  }
  return used;
}

/** Plans a runtime; throws {@linkcode PlanError} with the reason when it cannot be created. */
export function planCreate(msg: CreateNewRuntime, ctx: CreateContext): CreatePlan {
  const name = msg.container_name;
  const previous = ctx.stored[name] ?? [];
  const macvlans: MacvlanTarget[] = [];
  const vnics: StoredVnic[] = [];
  const networks = new Map<string, number>();
  msg.vnic_configs.forEach((v, i) => {
    const { subnet, gateway } = parentLan(v, i, ctx.view);
    const netName = macvlanNetworkName(v.parent_interface, subnet);
    const onParent = ctx.macvlans.filter((n) => n.options.parent === v.parent_interface);
    const same = onParent.find((n) => n.subnets.some((s) => s.subnet === subnet));
    const other = onParent.find((n) => !n.subnets.some((s) => s.subnet === subnet));
    if (!same && other) {
      throw new PlanError(
        `Cannot create network "${netName}": parent interface "${v.parent_interface}" is already ` +
          `used by MACVLAN network "${other.name}" (${
            other.subnets.map((s) => s.subnet).join(", ")
          }); Docker allows one MACVLAN network per parent`,
      );
    }
    const target = same?.name ?? netName;
    const first = networks.get(target);
    if (first !== undefined) {
      throw new PlanError(
        `vnic_configs[${i}]: lands on MACVLAN network "${target}" like vnic_configs[${first}]`,
      );
    }
    networks.set(target, i);
    if (v.ip_address && !cidrContains(subnet, v.ip_address)) {
      throw new PlanError(
        `vnic_configs[${i}].ip_address: ${v.ip_address} is outside the subnet ${subnet} of ` +
          `parent interface "${v.parent_interface}"`,
      );
    }
    const used = usedMacsOn(v.parent_interface, name, ctx);
    for (const s of vnics) {
      if (s.parent_interface === v.parent_interface) used.set(s.mac_address, name);
    }
    let mac = v.mac_address;
    if (mac && used.has(mac)) {
      throw new PlanError(
        `vnic_configs[${i}].mac_address: ${mac} is already used on parent interface ` +
          `"${v.parent_interface}" by "${used.get(mac)}"`,
      );
    }
    const kept = previous.find((p) =>
      p.name === v.name && p.parent_interface === v.parent_interface
    );
    if (!mac) {
      mac = kept && !used.has(kept.mac_address)
        ? kept.mac_address
        : ctx.newMac(new Set(used.keys()));
    }
    macvlans.push({
      existing: same?.name ?? null,
      spec: {
        name: target,
        driver: "macvlan",
        internal: false,
        options: { parent: v.parent_interface },
        subnets: [{ subnet, ...(gateway ? { gateway } : {}) }],
        labels: macvlanLabels(v.parent_interface, subnet, ctx.extraLabels),
      },
    });
    vnics.push({ ...v, mac_address: mac, docker_network_name: target });
  });
  const internal: NetworkSpec = {
    name: internalNetworkName(name),
    driver: "bridge",
    internal: true,
    options: {},
    subnets: [],
    labels: internalLabels(name, ctx.extraLabels),
  };
  const dns = [...new Set(vnics.flatMap((v) => v.dns ?? []))];
  const container: ContainerSpec = {
    name,
    image: ctx.image,
    hostname: name,
    labels: runtimeLabels(name, msg.runtime_version, vnics, ctx.extraLabels),
    restartPolicy: "always",
    capAdd: ["SYS_NICE", "MKNOD"],
    ulimits: ULIMITS,
    dns,
    endpoints: [
      { network: internal.name },
      ...vnics.map((v) => ({
        network: v.docker_network_name!,
        mac: v.mac_address,
        ...(v.network_mode === "manual" && v.ip_address ? { ipv4: v.ip_address } : {}),
      })),
    ],
  };
  return { internal, macvlans, vnics, container };
}
