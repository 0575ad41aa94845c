/**
 * `deno task bench`: runs every benchmark as its own process (so one's memory and CPU never
 * colour another's), prints one table and writes the figures to `bench-results/` as JSON so a
 * later run can be compared. Each benchmark measures its own baseline in the same run and prints
 * one JSON object on its last stdout line. `--only name,name` runs a subset.
 * `--soak-minutes N` sets the load phase of the soak (3 by default, under 4 minutes in all; 24 is
 * issue 14's full compressed day, under 30 minutes; 0 skips it).
 *
 * How to read the table: README.md, section "Benchmarks".
 *
 * @module
 */
import { parseArgs } from "node:util";

interface Bench {
  name: string;
  file: string;
  flags: string[];
  /** Needs root and a Docker engine (skipped with a reason otherwise). */
  root?: boolean;
  /** Arguments after the file. */
  args?: string[];
  /** Why it is skipped this run, or null. */
  skip?: string | null;
}

const ALL = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--allow-ffi",
];
const { values } = parseArgs({
  options: { only: { type: "string" }, "soak-minutes": { type: "string", default: "3" } },
});
const soakMinutes = Number(values["soak-minutes"]);
if (!Number.isFinite(soakMinutes) || soakMinutes < 0) {
  console.error(
    `--soak-minutes: a number of minutes (0 skips the soak), got ${values["soak-minutes"]}`,
  );
  Deno.exit(2);
}
const BENCHES: Bench[] = [
  { name: "contracts", file: "scripts/bench_contracts.ts", flags: ["--allow-read"] },
  { name: "netmon", file: "netmon/bench_netmon.ts", flags: ALL, root: true },
  { name: "agent", file: "scripts/bench_agent.ts", flags: ALL },
  { name: "docker", file: "scripts/bench_docker.ts", flags: ALL, root: true },
  { name: "rewire", file: "scripts/bench_rewire.ts", flags: ALL, root: true },
  { name: "dhcp", file: "scripts/bench_dhcp.ts", flags: ALL, root: true },
  { name: "fleet", file: "scripts/fleet_sim.ts", flags: ALL },
  // Last: it restarts dockerd, which nothing else should see.
  {
    name: "soak",
    file: "scripts/bench_soak.ts",
    flags: ALL,
    root: true,
    args: ["--minutes", String(soakMinutes)],
    skip: soakMinutes === 0 ? "--soak-minutes 0" : null,
  },
];

const only = values.only ? new Set(values.only.split(",")) : null;
const isRoot = Deno.uid() === 0;
const results: Record<string, unknown> = {};
const exists = (f: string) => Deno.stat(f).then(() => true, () => false);

for (const b of BENCHES) {
  if (only && !only.has(b.name)) continue;
  if (!await exists(b.file)) {
    results[b.name] = { skipped: `${b.file} is missing` };
    continue;
  }
  if (b.skip) {
    results[b.name] = { skipped: b.skip };
    continue;
  }
  if (b.root && !isRoot) {
    results[b.name] = { skipped: "needs root (network namespaces, Docker)" };
    continue;
  }
  console.error(`[bench] ${b.name} ...`);
  const started = performance.now();
  const out = await new Deno.Command("deno", {
    args: ["run", ...b.flags, b.file, ...b.args ?? []],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const last = text.split("\n").pop() ?? "";
  try {
    results[b.name] = {
      ...JSON.parse(last),
      seconds: Math.round((performance.now() - started) / 1000),
    };
  } catch {
    results[b.name] = { failed: `exit ${out.code}: ${last.slice(0, 200)}` };
  }
}

/** Flattens nested figures into `section.key` rows. */
function rows(prefix: string, value: unknown): [string, string][] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => rows(prefix ? `${prefix}.${k}` : k, v));
  }
  return [[prefix, typeof value === "string" ? value : JSON.stringify(value)]];
}
const table = rows("", results);
const width = Math.max(...table.map(([k]) => k.length));
console.log(`${"figure".padEnd(width)}  value`);
for (const [k, v] of table) console.log(`${k.padEnd(width)}  ${v}`);

await Deno.mkdir("bench-results", { recursive: true });
const record = { date: new Date().toISOString(), deno: Deno.version.deno, results };
const stamp = record.date.replaceAll(":", "-").slice(0, 19);
await Deno.writeTextFile(`bench-results/${stamp}.json`, JSON.stringify(record, null, 2) + "\n");
await Deno.writeTextFile("bench-results/latest.json", JSON.stringify(record, null, 2) + "\n");
console.error(`[bench] written bench-results/${stamp}.json and bench-results/latest.json`);
