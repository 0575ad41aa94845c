/**
 * The reconciliation planner: `plan(desired, observed, ctx) → steps`. Pure: no clock, no I/O.
 * Every change the agent makes to Docker is a step planned here and run by the executor; the
 * command handlers only edit the desired state.
 *
 * Rules:
 * - A runtime that should exist and has no container gets the steps that make one (a first
 *   create, or the re-creation of a container that vanished). A first create that cannot go on
 *   becomes a tombstone, and the tombstone's removal is the rollback.
 * - Containers are removed only for a tombstone (an explicit delete, a failed first create,
 *   self-destruct). A labelled runtime of ours in no desired state is adopted, never removed.
 * - Doubt never destroys: before `ctx.trusted` nothing destructive is planned.
 * - A running runtime is never restarted or re-created for something that can be fixed live
 *   (networks are connected and disconnected on the running container), and a runtime the cloud
 *   stopped is never started. A converged state plans nothing but reports (idempotence).
 *
 * @module
 */
import { cidrContains, StoredVnic } from "../../contracts/mod.ts";
import type { ContainerInfo, NetworkInfo } from "../docker/port.ts";
import {
  internalNetworkName,
  macvlanNetworkName,
  macvlanOn,
  subnetOf,
} from "../docker/networks.ts";
import { imageTag } from "../runtimes/desired.ts";
import { isManaged, LABELS } from "../runtimes/naming.ts";
import { type Lan, parentLans } from "./lan.ts";
import { planMissing } from "./plan_runtime.ts";
import {
  type DesiredRuntime,
  DESTRUCTIVE,
  type Member,
  type Observed,
  type PlanContext,
  type Step,
  type TargetNetwork,
} from "./types.ts";

type Rewire = Extract<Step, { kind: "rewire_parent" }>;
type Attach = Extract<Step, { kind: "attach" }>;

function attachedTo(c: ContainerInfo | undefined, network: string): boolean {
  return c !== undefined && Object.hasOwn(c.networks, network);
}

/** The desired state of a labelled runtime found on the engine (its labels carry its vNICs). */
export function adoptedFrom(c: ContainerInfo): DesiredRuntime {
  let vnics: StoredVnic[] = [];
  try {
    const raw = JSON.parse(c.labels[LABELS.vnics] ?? "[]") as unknown[];
    vnics = raw.flatMap((v) => {
      const r = StoredVnic.safeParse(v);
      return r.success ? [r.data] : [];
    });
  } catch { /* a label we cannot read: adopted without vNICs, still never removed */ }
  return {
    name: c.name,
    // Policy `always` is the intent "running" even while it crashed; `no` means stopped on purpose.
    running: c.running || c.restartPolicy === "always",
    image: c.image,
    version: c.labels[LABELS.version] ?? imageTag(c.image),
    vnics,
    phase: "ready",
    internal_ip: c.networks[internalNetworkName(c.name)]?.ipv4 ?? null,
    adopted: true,
  };
}

/** The desired state of a runtime the original agent made: its vNICs from that agent's file,
 * its intent from its state (the original used restart policy `no`, so running means wanted
 * running); our labels cannot be added to an existing container, so it stays `legacy`. */
export function adoptedLegacy(c: ContainerInfo, vnics: StoredVnic[]): DesiredRuntime {
  return {
    name: c.name,
    running: c.running,
    image: c.image,
    version: imageTag(c.image),
    vnics,
    phase: "ready",
    internal_ip: c.networks[internalNetworkName(c.name)]?.ipv4 ?? null,
    adopted: true,
    legacy: true,
  };
}

/** Plans one pass. */
export function plan(desired: DesiredRuntime[], observed: Observed, ctx: PlanContext): Step[] {
  const steps: Step[] = [];
  const own = observed.own ?? isManaged;
  const containers = new Map(observed.containers.map((c) => [c.name, c]));
  const wanted = new Map(desired.map((d) => [d.name, d]));
  const live = desired.filter((d) => d.phase !== "deleting");
  // A parent's LAN comes from the runtimes that already live on it; a create in flight never moves
  // them (its own parent_subnet must then agree), it only sets the LAN of a parent nobody uses.
  const host = (p: string) => observed.parents.get(p);
  const lans = parentLans(live.filter((d) => d.phase === "ready").map((d) => d.vnics), host);
  const pending = parentLans(live.filter((d) => d.phase === "creating").map((d) => d.vnics), host);
  for (const [p, lan] of pending) if (!lans.has(p)) lans.set(p, lan);
  // Batches per parent: every move on one parent is one step, as Docker needs (one network per
  // parent: the old one must be gone before the new one can exist).
  const rewires = new Map<string, Rewire>();
  const attaches = new Map<string, Attach>();

  for (const c of observed.containers) {
    const legacy = !own(c.labels) && !isManaged(c.labels) ? ctx.legacy?.get(c.name) : undefined;
    if (wanted.has(c.name) || (!own(c.labels) && !legacy)) continue;
    if (legacy) {
      steps.push(
        { kind: "adopt", runtime: c.name, desired: adoptedLegacy(c, legacy) },
        { kind: "report", runtime: c.name, vnic: null, problem: { code: "adopted", name: c.name } },
      );
      continue;
    }
    if (ctx.selfDestruct) {
      steps.push({ kind: "remove_container", runtime: c.name });
      continue;
    }
    steps.push(
      { kind: "adopt", runtime: c.name, desired: adoptedFrom(c) },
      { kind: "report", runtime: c.name, vnic: null, problem: { code: "adopted", name: c.name } },
    );
  }

  for (const rt of desired) {
    const c = containers.get(rt.name);
    if (rt.phase === "deleting") {
      steps.push(...tombstone(rt, c, observed, live, ctx));
      continue;
    }
    if (!c) {
      const p = planMissing(rt, observed, lans, ctx, (n) => observed.parents.get(n).state);
      if (p.ok) steps.push(...p.steps);
      else if (rt.phase === "creating") {
        steps.push({ kind: "fail_create", runtime: rt.name, error: p.error });
      } else {
        steps.push({
          kind: "report",
          runtime: rt.name,
          vnic: null,
          problem: { code: "step_failed", step: "create_container", error: p.error },
        });
      }
      continue;
    }
    steps.push(...existing(rt, c, observed, lans, ctx, rewires, attaches));
  }
  // A runtime that is moved or attached in this pass gets its DHCP clients made sure of in the
  // next one: its interface (found by MAC) exists only once the move put the MAC back.
  const moving = new Set(
    [...rewires.values(), ...attaches.values()].flatMap((b) => b.members.map((m) => m.runtime)),
  );
  for (let i = steps.length - 1; i >= 0; i--) {
    const st = steps[i]!;
    if (st.kind === "dhcp_ensure" && moving.has(st.runtime)) steps.splice(i, 1);
  }
  // Rewires run before attaches so a freed parent can take a new network.
  steps.push(...rewires.values(), ...attaches.values());
  steps.push(...garbage(desired, observed, ctx, own));
  if (ctx.dhcpPruned === false) {
    steps.push({ kind: "dhcp_prune", keep: desired.map((d) => d.name) });
  }
  if (ctx.selfDestruct && desired.length === 0 && observed.containers.length === 0) {
    const left = observed.networks.filter((n) => own(n.labels));
    if (left.length === 0) steps.push({ kind: "remove_netmon" }, { kind: "remove_self" });
  }
  if (!ctx.trusted) {
    return [
      ...steps.filter((s) => !DESTRUCTIVE.has(s.kind)),
      { kind: "report", runtime: null, vnic: null, problem: { code: "state_unknown" } },
    ];
  }
  return steps;
}

/** A runtime whose container exists: internal bridge, vNICs, lifecycle, settling. */
function existing(
  rt: DesiredRuntime,
  c: ContainerInfo,
  observed: Observed,
  lans: ReadonlyMap<string, Lan | null>,
  ctx: PlanContext,
  rewires: Map<string, Rewire>,
  attaches: Map<string, Attach>,
): Step[] {
  const steps: Step[] = [];
  const internal = internalNetworkName(rt.name);
  const internalNet = observed.networks.find((n) => n.name === internal);
  let settle = rt.phase === "creating" && (c.running || !rt.running);
  if (!internalNet) steps.push({ kind: "create_internal_network", runtime: rt.name });
  if (!attachedTo(c, internal)) {
    steps.push({ kind: "connect_internal", runtime: rt.name });
    settle = true;
  }
  const ip = c.networks[internal]?.ipv4 ?? null;
  if (c.running && ip && ip !== rt.internal_ip) settle = true;
  if (
    ctx.selfContainer && internalNet &&
    !internalNet.containers.some((x) => x.id === ctx.selfContainer)
  ) {
    settle = true;
  }

  for (const v of rt.vnics) {
    const report = (problem: Extract<Step, { kind: "report" }>["problem"]) =>
      steps.push({ kind: "report", runtime: rt.name, vnic: v.name, problem });
    const lan = lans.get(v.parent_interface) ?? null;
    // No picture of the host yet: change nothing, unless the cloud gave the LAN.
    if (!observed.parents.synced && lan?.source !== "cloud") continue;
    const parent = observed.parents.get(v.parent_interface);
    if (parent.state !== "up") {
      report({ code: "parent_unavailable", parent: v.parent_interface, state: parent.state });
      continue;
    }
    if (!lan) {
      report({ code: "parent_without_ipv4", parent: v.parent_interface });
      continue;
    }
    const subnet = lan.subnet;
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
        to: target(v.parent_interface, lan, undefined),
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
    const to = target(v.parent_interface, lan, current);
    const batch = attaches.get(to.name) ?? { kind: "attach" as const, to, members: [] };
    attaches.set(to.name, batch);
    batch.members.push(member);
  }

  if (observed.crashLooping.has(rt.name)) {
    steps.push({ kind: "report", runtime: rt.name, vnic: null, problem: { code: "crash_loop" } });
    if (c.running) steps.push({ kind: "stop", runtime: rt.name });
  } else if (rt.running && c.running && ctx.restarts.has(rt.name)) {
    steps.push({ kind: "restart", runtime: rt.name });
  } else if (rt.running && (!c.running || c.restartPolicy === "no")) {
    // Also when it runs with policy `no` (e.g. stopped by an older agent): start sets `always`.
    steps.push({ kind: "start", runtime: rt.name });
    settle = true;
  } else if (!rt.running && (c.running || c.restartPolicy === "always")) {
    // Also a stopped one still on `always`: the daemon would start it at its next restart.
    steps.push({ kind: "stop", runtime: rt.name });
  }
  if (settle) steps.push({ kind: "settle", runtime: rt.name });
  const key = dhcpKey(rt, c);
  if (
    observed.dhcpKey && key && c.running && rt.running && !observed.crashLooping.has(rt.name) &&
    key !== observed.dhcpKey(rt.name)
  ) {
    steps.push({ kind: "dhcp_ensure", runtime: rt.name, key });
  }
  return steps;
}

/** What a running runtime's DHCP clients must be made sure of: its pid (a restart gives a new
 * namespace) and the network each DHCP vNIC is attached to (a re-wire gives a new interface);
 * null when it has no DHCP vNIC. */
export function dhcpKey(rt: DesiredRuntime, c: ContainerInfo): string | null {
  const dhcp = rt.vnics.filter((v) => v.network_mode === "dhcp");
  if (dhcp.length === 0) return null;
  const nets = Object.keys(c.networks);
  return `${c.pid}|` + dhcp.map((v) => {
    const net = nets.find((n) => n === v.docker_network_name) ??
      nets.find((n) => n.startsWith(`macvlan_${v.parent_interface}_`)) ?? "-";
    return `${v.name}@${net}`;
  }).join(",");
}

function target(parent: string, lan: Lan, existing: NetworkInfo | undefined): TargetNetwork {
  if (existing) {
    return { name: existing.name, parent, subnet: lan.subnet, gateway: lan.gateway, exists: true };
  }
  return {
    name: macvlanNetworkName(parent, lan.subnet),
    parent,
    subnet: lan.subnet,
    gateway: lan.gateway,
    exists: false,
  };
}

/** A tombstone: stop and remove the container, its internal bridge, MACVLAN networks nobody else
 * uses; forget it once nothing of it is left. */
function tombstone(
  rt: DesiredRuntime,
  c: ContainerInfo | undefined,
  observed: Observed,
  live: DesiredRuntime[],
  ctx: PlanContext,
): Step[] {
  const steps: Step[] = [];
  const own = observed.own ?? isManaged;
  if (c) {
    if (c.running) steps.push({ kind: "stop", runtime: rt.name, removing: true });
    steps.push({ kind: "remove_container", runtime: rt.name });
  }
  const internal = observed.networks.find((n) => n.name === internalNetworkName(rt.name));
  // A runtime of the original agent: its networks carry no labels but are its own all the same.
  const mineToo = (labels: Record<string, string>) => own(labels) || rt.legacy === true;
  if (internal && mineToo(internal.labels)) {
    steps.push({
      kind: "remove_network",
      name: internal.name,
      detach: [rt.name, ...(ctx.selfContainer ? [ctx.selfContainer] : [])],
    });
  }
  const mine = new Set([
    ...rt.vnics.flatMap((v) => v.docker_network_name ? [v.docker_network_name] : []),
    ...Object.keys(c?.networks ?? {}),
  ]);
  const parentsInUse = new Set(live.flatMap((d) => d.vnics.map((v) => v.parent_interface)));
  for (const n of observed.networks) {
    if (n.driver !== "macvlan" || !mine.has(n.name) || !mineToo(n.labels)) continue;
    if (n.containers.some((x) => x.name !== rt.name)) continue;
    if (parentsInUse.has(n.options.parent ?? "")) continue;
    steps.push({ kind: "remove_network", name: n.name, detach: [rt.name] });
  }
  if (!c && !internal) steps.push({ kind: "forget", runtime: rt.name });
  return steps;
}

/** Networks of ours that no runtime uses: internal bridges of runtimes in no desired state (left
 * by an interrupted create), MACVLAN networks with nobody attached and no desired vNIC on their
 * parent. Tombstones remove their own (above). */
function garbage(
  desired: DesiredRuntime[],
  observed: Observed,
  ctx: PlanContext,
  own: (labels: Record<string, string>) => boolean,
): Step[] {
  const steps: Step[] = [];
  const names = new Set(desired.map((d) => d.name));
  const internals = new Set(desired.map((d) => internalNetworkName(d.name)));
  const live = desired.filter((d) => d.phase !== "deleting");
  const parentsInUse = new Set(live.flatMap((d) => d.vnics.map((v) => v.parent_interface)));
  const tombstoned = new Set(
    desired.filter((d) => d.phase === "deleting").flatMap((d) => [
      internalNetworkName(d.name),
      ...d.vnics.flatMap((v) => v.docker_network_name ? [v.docker_network_name] : []),
    ]),
  );
  const self = ctx.selfContainer ? [ctx.selfContainer] : [];
  const containers = new Set(observed.containers.map((c) => c.name));
  for (const n of observed.networks) {
    if (!own(n.labels) || internals.has(n.name) || tombstoned.has(n.name)) continue;
    const others = n.containers.filter((x) => x.id !== ctx.selfContainer);
    if (others.length > 0) continue;
    if (n.driver === "macvlan") {
      if (parentsInUse.has(n.options.parent ?? "") && !ctx.selfDestruct) continue;
    } else {
      const runtime = n.labels[LABELS.runtime] ?? "";
      if (names.has(runtime) || containers.has(runtime)) continue;
    }
    steps.push({ kind: "remove_network", name: n.name, detach: self });
  }
  return steps;
}

/** Whether a plan changes anything (reports alone do not). */
export function isConverged(steps: Step[]): boolean {
  return steps.every((s) => s.kind === "report");
}
