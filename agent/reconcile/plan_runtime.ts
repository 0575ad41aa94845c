/**
 * Planning one runtime whose container does not exist: a first create (the cloud's command) or
 * the re-creation of a runtime whose container vanished (by hand, lost Docker state). Pure: the
 * steps in order, or the reason it cannot be made. Also the container spec, which only this file
 * builds (protocol.md §7: restart policy, capabilities, ulimits, endpoints with their MACs).
 *
 * @module
 */
import { cidrContains } from "../../contracts/mod.ts";
import type { ContainerSpec, NetworkInfo } from "../docker/port.ts";
import { internalNetworkName, macvlanOn, macvlanSpec, subnetOf } from "../docker/networks.ts";
import { runtimeLabels } from "../runtimes/naming.ts";
import type { Lan } from "./lan.ts";
import type { DesiredRuntime, PlanContext, Step } from "./types.ts";

/** The runtime needs real-time scheduling: rtprio 99 and unlimited locked memory (§7). */
const ULIMITS = [{ name: "rtprio", soft: 99, hard: 99 }, { name: "memlock", soft: -1, hard: -1 }];

/** The container of a runtime; `networks[i]` is the MACVLAN network of `rt.vnics[i]`. */
export function containerSpec(
  rt: DesiredRuntime,
  networks: string[],
  ctx: PlanContext,
): ContainerSpec {
  const vnics = rt.vnics.map((v, i) => ({ ...v, docker_network_name: networks[i]! }));
  const endpoints = [
    { network: internalNetworkName(rt.name) },
    ...vnics.map((v) => ({
      network: v.docker_network_name,
      mac: v.mac_address,
      ...(v.network_mode === "manual" && v.ip_address ? { ipv4: v.ip_address } : {}),
    })),
  ];
  return {
    name: rt.name,
    image: rt.image,
    hostname: rt.name,
    labels: runtimeLabels(rt.name, rt.version, vnics, ctx.labels),
    // `no` for a runtime the cloud stopped: Docker's `always` would start it with the daemon.
    restartPolicy: rt.running ? "always" : "no",
    capAdd: ["SYS_NICE", "MKNOD"],
    ulimits: ctx.engine.ulimits ? ULIMITS : [],
    dns: [...new Set(vnics.flatMap((v) => v.dns ?? []))],
    // Below API 1.44 only the first endpoint's settings are honoured at create: the others are
    // attached by the next pass (`attach`, which puts the MAC back inside the namespace).
    endpoints: ctx.engine.macsAtCreate ? endpoints : endpoints.slice(0, 1),
  };
}

/** Outcome of planning a missing container. */
export type MissingPlan = { ok: true; steps: Step[] } | { ok: false; error: string };

/**
 * Steps that make a runtime's container: pull, internal network, MACVLAN networks, container,
 * start, settle. `lans` is the rule's answer per parent (lan.ts).
 */
export function planMissing(
  rt: DesiredRuntime,
  observed: { networks: NetworkInfo[] },
  lans: ReadonlyMap<string, Lan | null>,
  ctx: PlanContext,
  hostKnown: (parent: string) => "up" | "down" | "removed" | "unknown",
): MissingPlan {
  const steps: Step[] = [{ kind: "pull_image", runtime: rt.name, image: rt.image }];
  const internal = internalNetworkName(rt.name);
  if (!observed.networks.some((n) => n.name === internal)) {
    steps.push({ kind: "create_internal_network", runtime: rt.name });
  }
  const names: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, v] of rt.vnics.entries()) {
    const lan = lans.get(v.parent_interface);
    if (!lan) {
      const state = hostKnown(v.parent_interface);
      const why = state === "up"
        ? "has no IPv4 address"
        : state === "unknown"
        ? "is not known to netmon (it does not exist, is down, or netmon has not reported yet)"
        : `is ${state}`;
      return {
        ok: false,
        error: `vnic_configs[${i}]: parent interface "${v.parent_interface}" ${why}: give ` +
          `parent_subnet, or subnet with a static ip_address`,
      };
    }
    if (v.network_mode === "manual" && v.ip_address && !cidrContains(lan.subnet, v.ip_address)) {
      return {
        ok: false,
        error: `vnic_configs[${i}].ip_address: ${v.ip_address} is outside the subnet ` +
          `${lan.subnet} of parent interface "${v.parent_interface}"`,
      };
    }
    const current = macvlanOn(observed.networks, v.parent_interface);
    const wants = v.parent_subnet ?? lan.subnet;
    if (
      wants !== lan.subnet ||
      (current && subnetOf(current) !== lan.subnet && current.containers.length > 0)
    ) {
      const held = current
        ? `MACVLAN network "${current.name}" (${subnetOf(current)})`
        : `the LAN ${lan.subnet}`;
      return {
        ok: false,
        error: `Cannot create network "${macvlanSpec(v.parent_interface, wants, null).name}"` +
          `: parent interface "${v.parent_interface}" is already used by ${held}; Docker allows ` +
          `one MACVLAN network per parent`,
      };
    }
    const foreign = current?.containers.find((c) =>
      c.name !== rt.name && c.mac.toLowerCase() === v.mac_address
    );
    if (foreign) {
      return {
        ok: false,
        error: `vnic_configs[${i}].mac_address: ${v.mac_address} is already used on parent ` +
          `interface "${v.parent_interface}" by "${foreign.name}"`,
      };
    }
    const spec = current && subnetOf(current) === lan.subnet
      ? null
      : macvlanSpec(v.parent_interface, lan.subnet, lan.gateway, ctx.labels);
    const name = current && subnetOf(current) === lan.subnet ? current.name : spec!.name;
    const first = seen.get(name);
    if (first !== undefined) {
      return {
        ok: false,
        error: `vnic_configs[${i}]: lands on MACVLAN network "${name}" like vnic_configs[${first}]`,
      };
    }
    seen.set(name, i);
    names.push(name);
    if (spec && !steps.some((s) => s.kind === "ensure_macvlan" && s.network.name === name)) {
      steps.push({ kind: "ensure_macvlan", runtime: rt.name, network: spec });
    }
  }
  if (rt.phase === "creating") {
    for (const [i, v] of rt.vnics.entries()) {
      if (v.network_mode === "manual" && v.ip_address) {
        steps.push({
          kind: "probe_address",
          runtime: rt.name,
          vnic: i,
          parent: v.parent_interface,
          ip: v.ip_address.split("/")[0]!,
        });
      }
    }
  }
  steps.push({
    kind: "create_container",
    runtime: rt.name,
    spec: containerSpec(rt, names, ctx),
    networks: names,
  });
  if (rt.running) steps.push({ kind: "start", runtime: rt.name });
  steps.push({ kind: "settle", runtime: rt.name });
  if (rt.running && rt.vnics.some((v) => v.network_mode === "dhcp")) {
    steps.push({ kind: "dhcp_ensure", runtime: rt.name });
  }
  return { ok: true, steps };
}
