/**
 * Re-wiring benchmark (issue 6): from the address change on a MACVLAN parent to the last
 * affected runtime attached to the new network (`attached_N`) and to the agent's end of the step,
 * MACs put back inside (`rewire_N`), for 1, 10 and 50 runtimes, minus netmon's debounce; compared in the same run with a one-by-one baseline (the same moves issued with the
 * docker CLI and nsenter, one runtime after another, as a naive agent would). Prints one JSON
 * object on the last line. Needs root and a Docker engine.
 *
 * @module
 */
import { freeLans } from "./free_range.ts";
import { inside, removeByPrefix, type Stack, startStack } from "../tests/stack_helpers.ts";
import { createMacvlanByHand, ensureStandin, sh } from "../tests/docker_helpers.ts";

const PARENT = "eobench0";
const DEBOUNCE_MS = 500;
const SIZES = (Deno.env.get("REWIRE_SIZES") ?? "1,10,50").split(",").map(Number);
// Host-side ranges that overlap no route or needed address of this machine (tests/README.md).
const [LA, LB] = await freeLans(2);
const A = { addr: LA!.cidr(250), net: LA!.subnet };
const B = { addr: LB!.cidr(250), net: LB!.subnet };
const netName = (cidr: string) => `macvlan_${PARENT}_${cidr.replace("/", "_")}`;

async function attachedCount(network: string): Promise<number> {
  const out = await new Deno.Command("docker", {
    args: ["network", "inspect", "-f", "{{len .Containers}}", network],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? Number(new TextDecoder().decode(out.stdout).trim()) : 0;
}

async function waitAttached(network: string, n: number, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await attachedCount(network)) < n) {
    if (Date.now() > end) {
      throw new Error(`${network}: fewer than ${n} attached after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function move(from: typeof A, to: typeof A): Promise<void> {
  await sh("ip", "addr", "del", from.addr, "dev", PARENT);
  await sh("ip", "addr", "add", to.addr, "dev", PARENT);
}

/** The baseline: one runtime after the other, with the CLI. */
async function baselineMove(
  names: string[],
  macs: Map<string, string>,
  from: string,
  to: typeof A,
) {
  for (const n of names) await sh("docker", "network", "disconnect", "-f", from, n);
  await sh("docker", "network", "rm", from);
  await createMacvlanByHand(netName(to.net), PARENT, to.net, false);
  for (const n of names) {
    await sh("docker", "network", "connect", netName(to.net), n);
    const pid = (await sh("docker", "inspect", "-f", "{{.State.Pid}}", n)).trim();
    const info = await inside(n);
    const link = Object.entries(info.links).find(([, m]) =>
      m !== info.internalMac && m !== macs.get(n)
    );
    if (link) {
      await sh("nsenter", "-t", pid, "-n", "ip", "link", "set", "dev", link[0], "down");
      await sh(
        "nsenter",
        "-t",
        pid,
        "-n",
        "ip",
        "link",
        "set",
        "dev",
        link[0],
        "address",
        macs.get(n)!,
      );
      await sh("nsenter", "-t", pid, "-n", "ip", "link", "set", "dev", link[0], "up");
    }
  }
}

async function runSize(stack: Stack, size: number): Promise<Record<string, number>> {
  const names = Array.from({ length: size }, (_, i) => `eobench-${size}-${i}`);
  for (const name of names) {
    await stack.send("create_new_runtime", {
      container_name: name,
      vnic_configs: [{ name: "eth0", parent_interface: PARENT, network_mode: "dhcp" }],
    });
  }
  for (const name of names) {
    await stack.waitStatus(name, (s) => s.status === "success" && s.is_running === true, 120_000);
  }
  await waitAttached(netName(A.net), size);
  const macs = new Map<string, string>();
  for (const n of names) {
    const info = await inside(n);
    macs.set(n, Object.values(info.links).find((m) => m !== info.internalMac)!);
  }
  // Ours: the agent follows netmon's change event. Healed = every runtime attached to the new
  // network and the agent done with the step (MACs put back inside: its "parent re-wired" line).
  const rewired = () => stack.agent.output().split("\n").filter((l) => /parent re-wired/i.test(l));
  const before = rewired().length;
  let t0 = performance.now();
  await move(A, B);
  await waitAttached(netName(B.net), size);
  const attached = performance.now() - t0 - DEBOUNCE_MS;
  while (rewired().length === before && performance.now() - t0 < 120_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ours = performance.now() - t0 - DEBOUNCE_MS;
  console.error(
    `[bench_rewire] ${size}: attached ${Math.round(attached)} ms, healed ${Math.round(ours)} ms ` +
      `(minus debounce); agent: ${rewired().at(-1)?.slice(0, 300)}`,
  );
  // Baseline: stop the agent, move back by hand, one by one.
  stack.agent.kill("SIGTERM");
  await stack.agent.status;
  await move(B, A);
  t0 = performance.now();
  await baselineMove(names, macs, netName(B.net), A);
  const baseline = performance.now() - t0;
  await stack.restartAgent();
  for (const name of names) await stack.send("delete_device", { device_id: name });
  for (const name of names) {
    await stack.waitStatus(name, (s) => s.status === "not_found", 120_000).catch(() => {});
  }
  return {
    [`rewire_${size}_ms_minus_debounce`]: Math.round(ours),
    [`attached_${size}_ms_minus_debounce`]: Math.round(attached),
    [`baseline_one_by_one_${size}_ms`]: Math.round(baseline),
    [`speedup_${size}`]: Number((baseline / Math.max(ours, 1)).toFixed(2)),
  };
}

if (import.meta.main) {
  await ensureStandin();
  const dir = await Deno.makeTempDir({ prefix: "eo-bench-rewire-" });
  await sh("ip", "link", "del", PARENT).catch(() => {});
  await sh("ip", "link", "add", PARENT, "type", "veth", "peer", "name", `${PARENT}p`);
  await sh("ip", "addr", "add", A.addr, "dev", PARENT);
  await sh("ip", "link", "set", PARENT, "up");
  await sh("ip", "link", "set", `${PARENT}p`, "up");
  let stack: Stack | null = null;
  const results: Record<string, number> = { debounce_ms: DEBOUNCE_MS };
  try {
    stack = await startStack(dir, DEBOUNCE_MS);
    for (const size of SIZES) {
      console.error(`[bench_rewire] ${size} runtimes ...`);
      Object.assign(results, await runSize(stack, size));
    }
  } finally {
    await stack?.stop().catch(() => {});
    await removeByPrefix(["eobench-", `macvlan_${PARENT}_`]);
    await sh("ip", "link", "del", PARENT).catch(() => {});
    if (Deno.env.get("KEEP")) console.error(`[bench_rewire] kept ${dir}`);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  console.log(JSON.stringify(results));
}
