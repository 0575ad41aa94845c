/**
 * The command side of `create_new_runtime`, pure: from the message, the desired state of the
 * other runtimes and the host's view, the desired runtime to record (MACs assigned once and kept
 * forever), or the precise reason why it cannot be created. What only Docker can tell (a foreign
 * container holding a MAC, a parent held by another subnet) the planner checks.
 *
 * @module
 */
import { cidrContains, type CreateNewRuntime, type StoredVnic } from "../../contracts/mod.ts";
import { parentLan } from "../reconcile/lan.ts";
import type { DesiredRuntime } from "./desired.ts";
import type { InterfaceView } from "./interface_view.ts";
import { primarySubnet } from "../network/interface_cache.ts";
import { checkVnicAgainstLan, type Neighbour } from "../lan/guard.ts";

/** Why a create was refused (shown as the operation's error). */
export class PlanError extends Error {
  /** Builds a refusal. */
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** What the validation reads. */
export interface CreateContext {
  /** Image reference (repository plus tag). */
  image: string;
  /** Its tag (`runtime_version`). */
  version: string;
  /** vNICs of every other runtime. */
  stored: Readonly<Record<string, StoredVnic[]>>;
  /** Host interfaces (netmon's view). */
  view: InterfaceView;
  /** Makes a fresh MAC not in `used`. */
  newMac: (used: ReadonlySet<string>) => string;
  /** `--allowed-parents`: the only parent interfaces runtimes may use (null: any). */
  allowedParents?: readonly string[] | null;
  /** The host's neighbour table (IPv4 to MAC), to know the gateway's MAC. */
  neighbours?: Neighbour[];
}

/** `<repository>:<tag>`: the configured image with the cloud's `runtime_version` as its tag, or
 * the configured image as given when the cloud sent none. */
export function imageFor(configured: string, version: string | undefined): string {
  if (version === undefined) return configured;
  const slash = configured.lastIndexOf("/");
  const colon = configured.lastIndexOf(":");
  const repo = colon > slash ? configured.slice(0, colon) : configured;
  return `${repo}:${version}`;
}

/** The desired runtime of a create; throws {@linkcode PlanError} with the reason. */
export function validateCreate(msg: CreateNewRuntime, ctx: CreateContext): DesiredRuntime {
  const name = msg.container_name;
  const vnics: StoredVnic[] = [];
  const parents = new Map<string, number>();
  msg.vnic_configs.forEach((v, i) => {
    const first = parents.get(v.parent_interface);
    if (first !== undefined) {
      throw new PlanError(
        `vnic_configs[${i}]: parent interface "${v.parent_interface}" is used by ` +
          `vnic_configs[${first}] too; Docker allows one MACVLAN network per parent, so two vNICs ` +
          `of one runtime cannot share it`,
      );
    }
    parents.set(v.parent_interface, i);
    if (ctx.allowedParents && !ctx.allowedParents.includes(v.parent_interface)) {
      throw new PlanError(
        `vnic_configs[${i}].parent_interface: "${v.parent_interface}" is not an allowed parent ` +
          `interface (allowed: ${ctx.allowedParents.join(", ")})`,
      );
    }
    const iface = ctx.view.get(v.parent_interface);
    // Guard rails (issue 12): never the host's own address or MAC, nor the gateway's.
    const refusal = checkVnicAgainstLan(
      {
        ...(v.ip_address ? { ip: v.ip_address } : {}),
        ...(v.mac_address ? { mac: v.mac_address } : {}),
        gateway: v.parent_gateway ?? v.gateway ?? null,
      },
      iface
        ? {
          interface: iface.interface,
          ...(iface.mac_address ? { mac_address: iface.mac_address } : {}),
          ipv4_addresses: iface.ipv4_addresses,
          gateway: iface.gateway,
        }
        : null,
      ctx.neighbours ?? [],
    );
    if (refusal) throw new PlanError(`vnic_configs[${i}]: ${refusal.message}`);
    const host = iface
      ? { state: "up" as const, subnet: primarySubnet(iface), gateway: iface.gateway }
      : { state: ctx.view.absence(v.parent_interface) };
    // The same rule as the planner's, with this vNIC and the others already on that parent.
    const others = Object.values(ctx.stored).flat().filter((o) =>
      o.parent_interface === v.parent_interface
    );
    const lan = parentLan([...others, v], host);
    if (
      lan && v.network_mode === "manual" && v.ip_address && !cidrContains(lan.subnet, v.ip_address)
    ) {
      throw new PlanError(
        `vnic_configs[${i}].ip_address: ${v.ip_address} is outside the subnet ${lan.subnet} of ` +
          `parent interface "${v.parent_interface}"`,
      );
    }
    const used = new Map<string, string>();
    for (const [rt, list] of Object.entries(ctx.stored)) {
      if (rt === name) continue;
      for (const o of list) {
        if (o.parent_interface === v.parent_interface) used.set(o.mac_address, rt);
      }
    }
    let mac = v.mac_address;
    if (mac && used.has(mac)) {
      throw new PlanError(
        `vnic_configs[${i}].mac_address: ${mac} is already used on parent interface ` +
          `"${v.parent_interface}" by "${used.get(mac)}"`,
      );
    }
    mac ??= ctx.newMac(new Set(used.keys()));
    vnics.push({ ...v, mac_address: mac });
  });
  return {
    name,
    running: true,
    image: ctx.image,
    version: ctx.version,
    vnics,
    phase: "creating",
    internal_ip: null,
  };
}
