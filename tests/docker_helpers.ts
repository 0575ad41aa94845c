/**
 * Shared pieces of the `docker_` test tier: a real engine, real MACVLAN parents made from veth
 * pairs whose peers live in namespaces the test owns, the stand-in runtime image, and a sweep of
 * everything labelled `io.edge-orchestrator.test=1`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { NetmonInterface } from "../contracts/mod.ts";
import { dockerodePort } from "../agent/docker/dockerode_adapter.ts";
import type { DockerPort } from "../agent/docker/port.ts";
import { silentLogger } from "../agent/log.ts";
import { StaticInterfaceView } from "../agent/runtimes/interface_view.ts";
import { type Engine, wireEngine } from "../agent/main.ts";
import type { CreateNewRuntime, StoredVnic } from "../contracts/mod.ts";
import { freeLans } from "../scripts/free_range.ts";

/** Label on every object a test creates, so a crashed run can be swept. */
export const TEST_LABELS = { "io.edge-orchestrator.test": "1" };
/** The stand-in image (scripts/build_runtime_image.sh). */
export const STANDIN = "edge-orchestrator/openplc-standin:latest";
/** Docker socket. */
export const SOCKET = "/var/run/docker.sock";

/** Runs a command; returns stdout, throws with stderr on failure. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

/** Why the tier cannot run here, or null. */
export async function skipReason(): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root (MACVLAN parents need root)";
  try {
    await sh("docker", "info", "--format", "{{.ServerVersion}}");
  } catch {
    return "no Docker engine answers";
  }
  return null;
}

/** Builds the stand-in image once (the script skips when it is up to date). */
export async function ensureStandin(): Promise<void> {
  await sh("bash", new URL("../scripts/build_runtime_image.sh", import.meta.url).pathname);
}

/**
 * Three-octet prefixes (e.g. "10.203.7") of `count` distinct /24s that a test may put on the host's
 * own namespace: they overlap no route of the machine and no address it needs (registry, DNS,
 * gateway, Docker networks); see tests/README.md. Never hard-code a range for the host.
 */
export async function freeNets(count: number): Promise<string[]> {
  return (await freeLans(count)).map((l) => l.subnet.replace(/\.0\/24$/, ""));
}

/** A MACVLAN parent: a veth whose peer sits in a namespace, with a host address. */
export interface Parent {
  /** Host-side name (the parent). */
  name: string;
  /** Namespace of the peer. */
  ns: string;
  /** Host address with prefix. */
  address: string;
  /** The parent LAN. */
  subnet: string;
  /** What netmon would publish for it. */
  netmon: NetmonInterface;
  /** Removes link and namespace. */
  remove(): Promise<void>;
}

/** Creates a parent `name` with host address `address` (e.g. `${net}.250/24` of a
 * {@linkcode freeNets} prefix). */
export async function makeParent(name: string, address: string, subnet: string): Promise<Parent> {
  const ns = `${name}ns`;
  await sh("ip", "link", "del", name).catch(() => {});
  await sh("ip", "netns", "del", ns).catch(() => {});
  await sh("ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`);
  await sh("ip", "netns", "add", ns);
  await sh("ip", "link", "set", `${name}p`, "netns", ns);
  await sh("ip", "addr", "add", address, "dev", name);
  await sh("ip", "link", "set", name, "up");
  await sh("ip", "netns", "exec", ns, "ip", "link", "set", `${name}p`, "up");
  const mac = (await sh("cat", `/sys/class/net/${name}/address`)).trim();
  const [ip, len] = address.split("/");
  return {
    name,
    ns,
    address,
    subnet,
    netmon: {
      interface: name,
      index: 0,
      operstate: "UP",
      type: "ethernet",
      mac_address: mac,
      ipv4_addresses: [{
        address: ip!,
        prefixlen: Number(len),
        subnet,
        network_address: subnet.split("/")[0]!,
      }],
      gateway: null,
      timestamp: new Date().toISOString(),
    },
    async remove() {
      await sh("ip", "link", "del", name).catch(() => {});
      await sh("ip", "netns", "del", ns).catch(() => {});
    },
  };
}

/** `docker network create -d macvlan` by hand (as a user or a naive agent would), labelled for the
 * sweep unless `labelled` is false. */
export async function createMacvlanByHand(
  name: string,
  parent: string,
  subnet: string,
  labelled = true,
): Promise<void> {
  const label = labelled ? ["--label", "io.edge-orchestrator.test=1"] : [];
  await sh(
    "docker",
    "network",
    "create",
    "-d",
    "macvlan",
    "-o",
    `parent=${parent}`,
    "--subnet",
    subnet,
    ...label,
    name,
  );
}

/** Removes parents (and their peer namespaces) left behind by killed runs: host links whose name
 * matches `pattern`. */
export async function removeStaleParents(pattern: RegExp): Promise<void> {
  // `ip -o link` lines read "7: eofr12ab@if6: <...", the name ending at "@" or ":".
  const links = (await sh("ip", "-o", "link", "show")).split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "");
  for (const name of links) {
    if (pattern.test(name)) await sh("ip", "link", "del", name).catch(() => {});
  }
  const namespaces = (await sh("ip", "netns", "list").catch(() => "")).split("\n")
    .map((l) => l.split(" ")[0] ?? "");
  for (const ns of namespaces) {
    if (ns.endsWith("ns") && pattern.test(ns.slice(0, -2))) {
      await sh("ip", "netns", "del", ns).catch(() => {});
    }
  }
}

/** Removes every container and network carrying the test label. */
export async function sweep(docker: DockerPort): Promise<void> {
  for (const c of await docker.listContainers(TEST_LABELS)) {
    await docker.removeContainer(c.name, true).catch(() => {});
  }
  for (const n of await docker.listNetworks({ labels: TEST_LABELS })) {
    await docker.removeNetwork(n.name).catch(() => {});
  }
}

/** A real port. */
export function realPort(): DockerPort {
  return dockerodePort(SOCKET);
}

/** The agent's runtime engine over the real Docker engine, as the tests drive it: the command
 * port and the read-only view (what handlers get), plus waiting helpers. */
export interface TestRuntimes {
  /** The wired engine. */
  engine: Engine;
  /** The command port (handler deps `commands`). */
  commands: Engine["commands"];
  /** The read-only view (handler deps `runtimes`). */
  runtimes: Engine["runtimes"];
  /** Docker. */
  docker: DockerPort;
  /** run_command handler deps but the view. */
  run: { pin(d: string, f: string): Promise<void>; log: typeof silentLogger };
  /** Records a create. */
  create(msg: CreateNewRuntime): Promise<void>;
  /** Records a delete. */
  delete(name: string): Promise<void>;
  /** `get_device_status` body. */
  status(name: string): Promise<Record<string, unknown>>;
  /** Waits until no operation runs and no pass is in flight. */
  settle(): Promise<void>;
  /** The recorded internal IP of a runtime. */
  internalIp(name: string): string | null;
  /** Names of the runtimes. */
  names(): string[];
  /** The stored vNICs of a runtime. */
  vnics(name: string): StoredVnic[] | undefined;
}

/** Engines started by `makeManager` and not yet stopped. */
const started = new Set<Engine>();

/** Stops every engine `makeManager` started (their loops and DHCP clients), waiting for the pass
 * in flight. A lab calls this before its final sweep: an engine left running reconciles on its
 * timer or on the sweep's own Docker events and would recreate what the sweep just removed. */
export async function stopManagers(): Promise<void> {
  const engines = [...started];
  started.clear();
  await Promise.all(engines.map((e) => e.stop()));
}

/** The engine over the real Docker engine with test labels and the stand-in image; loads its
 * state and runs its first pass (like an agent starting). `stopManagers` stops it. */
export async function makeManager(
  stateDir: string,
  parents: Parent[],
  docker: DockerPort = realPort(),
  image = STANDIN,
): Promise<TestRuntimes> {
  const engine = wireEngine({
    docker,
    stateDir,
    runtimeImage: image,
    labels: TEST_LABELS,
    view: new StaticInterfaceView(parents.map((p) => p.netmon)),
    log: silentLogger,
    stopTimeoutS: 2,
    exit: () => {},
  });
  started.add(engine);
  await engine.start();
  return {
    engine,
    commands: engine.commands,
    runtimes: engine.runtimes,
    docker,
    run: { pin: (d, f) => engine.commands.pin(d, f), log: silentLogger },
    create: (msg) => engine.commands.create(msg),
    delete: (name) => engine.commands.delete(name),
    status: (name) => engine.runtimes.status(name),
    settle: () => engine.settle(),
    internalIp: (name) => engine.runtimes.endpoint(name)?.ip ?? null,
    names: () => engine.runtimes.names(),
    vnics: (name) => engine.desired.get(name)?.vnics,
  };
}

/** Links inside a container's network namespace: name to MAC. */
export async function linksInside(pid: number): Promise<Record<string, string>> {
  const out = await sh("nsenter", "-t", String(pid), "-n", "ip", "-o", "link");
  const links: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^\d+: ([^:@]+)[^:]*:.*link\/ether ([0-9a-f:]{17})/.exec(line);
    if (m) links[m[1]!] = m[2]!;
  }
  return links;
}

/** IPv4 addresses inside a container's network namespace. */
export async function addressesInside(pid: number): Promise<string[]> {
  const out = await sh("nsenter", "-t", String(pid), "-n", "ip", "-o", "-4", "addr");
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

/** Creates through the command port and waits for the reconciler. */
export async function createAndWait(
  m: TestRuntimes,
  msg: CreateNewRuntime,
): Promise<Record<string, unknown>> {
  await m.create(msg);
  await m.settle();
  return await m.status(msg.container_name);
}

/** Whether dockerd holds CAP_SYS_RESOURCE (needed to raise rtprio/memlock for a container). */
export async function engineCanRaiseLimits(): Promise<boolean> {
  const pid = (await sh("pidof", "dockerd")).trim().split(" ")[0];
  const status = await sh("cat", `/proc/${pid}/status`);
  const capEff = BigInt("0x" + (/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"));
  const CAP_SYS_RESOURCE = 24n;
  return ((capEff >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

/**
 * The agent adopts every runtime labelled as ours on the engine; next to another agent's runtimes
 * (a concurrent test, a real install) this test would fight it. Fail clearly instead.
 */
export async function assertEngineFree(): Promise<void> {
  const others = (await sh(
    "docker",
    "ps",
    "-a",
    "--filter",
    "label=io.edge-orchestrator.managed=1",
    "--format",
    "{{.Names}}",
  ))
    .split("\n").filter((n) => n !== "");
  assert.deepEqual(
    others,
    [],
    "another agent's runtimes are on this engine; ours would adopt them",
  );
}
