/**
 * Captures the netlink fixtures under `netmon/testdata/` from the real kernel (root needed).
 *
 * Builds a throw-away network namespace with two veth pairs on documentation addresses and fixed
 * MACs, runs `netmon/capture_tool.ts` inside it (as a program: nothing outside netmon/ imports
 * netmon/), makes a scripted series of changes while the tool records events, then removes the
 * namespace (also on failure).
 *
 * Usage: deno run --allow-run --allow-read --allow-write scripts/capture_netlink_fixtures.ts
 *
 * @module
 */
const OUT = new URL("../netmon/testdata", import.meta.url).pathname;
const TOOL = new URL("../netmon/capture_tool.ts", import.meta.url).pathname;
const NS = `eo-cap-${crypto.randomUUID().slice(0, 8)}`;

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args: ["-n", NS, ...args], stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Cannot run ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Namespace with eo0 (192.0.2.10/24, default via 192.0.2.1) and eo1 (two 198.51.100.x). */
async function setup(): Promise<void> {
  const add = await new Deno.Command("ip", { args: ["netns", "add", NS] }).output();
  if (!add.success) throw new Error(`Cannot create namespace ${NS}`);
  await ip("link", "set", "lo", "up");
  for (const [n, a, b] of [["eo0", "01", "02"], ["eo1", "03", "04"]] as const) {
    await ip(
      "link",
      "add",
      n,
      "address",
      `02:00:00:00:00:${a}`,
      "type",
      "veth",
      "peer",
      "name",
      `${n}p`,
      "address",
      `02:00:00:00:00:${b}`,
    );
    await ip("link", "set", n, "up");
    await ip("link", "set", `${n}p`, "up");
  }
  await ip("addr", "add", "192.0.2.10/24", "dev", "eo0");
  await ip("addr", "add", "198.51.100.10/24", "dev", "eo1");
  await ip("addr", "add", "198.51.100.11/24", "dev", "eo1");
  await ip("route", "add", "default", "via", "192.0.2.1", "dev", "eo0");
}

/** The changes recorded in events.hex, in this order. */
async function changes(): Promise<void> {
  await ip("addr", "add", "203.0.113.5/24", "dev", "eo1");
  await ip("addr", "del", "203.0.113.5/24", "dev", "eo1");
  await ip("route", "del", "default");
  await ip("route", "add", "default", "via", "198.51.100.1", "dev", "eo1", "metric", "50");
  await ip("link", "set", "eo1", "down");
  await ip("link", "del", "eo1");
}

async function main(): Promise<void> {
  await setup();
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      NS,
      Deno.execPath(),
      "run",
      "--allow-ffi",
      "--allow-read",
      `--allow-write=${OUT}`,
      TOOL,
      OUT,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("READY")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Cannot capture: the tool exited early");
    seen += value;
  }
  await changes();
  // Give the last events a moment to reach the tool before it stops (they arrive in < 1 ms).
  await new Promise((r) => setTimeout(r, 300));
  await child.stdin.close();
  await reader.cancel();
  const status = await child.status;
  if (!status.success) throw new Error(`Cannot capture: the tool failed (${status.code})`);
  console.log(`Fixtures written to ${OUT}`);
}

try {
  await main();
} finally {
  await new Deno.Command("ip", { args: ["netns", "del", NS] }).output();
}
