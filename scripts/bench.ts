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
const USAGE = `Usage: deno task bench [--only name,name] [--soak-minutes N]
  --only           run only these benchmarks: ${
  ["contracts", "netmon", "agent", "docker", "rewire", "dhcp", "fleet", "soak"].join(", ")
}
  --soak-minutes   load phase of the soak in minutes (3 by default; 24 = the full day; 0 skips)
Prints one table; writes bench-results/<time>.json and bench-results/latest.json (with --only,
latest.json keeps the other benchmarks' last figures, each with the time it was measured).`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      only: { type: "string" },
      "soak-minutes": { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err}\n${USAGE}`);
  Deno.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
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
const date = new Date().toISOString();
const measuredAt = Object.fromEntries(Object.keys(results).map((k) => [k, date]));
const record = { date, deno: Deno.version.deno, results, measured_at: measuredAt };
const stamp = record.date.replaceAll(":", "-").slice(0, 19);
await Deno.writeTextFile(`bench-results/${stamp}.json`, JSON.stringify(record, null, 2) + "\n");
// A partial run (--only) must not wipe the other figures from latest.json: they are kept, each
// with the time it was measured.
type Record_ = {
  date?: string;
  results?: Record<string, unknown>;
  measured_at?: Record<string, string>;
};
const prev: Record_ = only
  ? await Deno.readTextFile("bench-results/latest.json").then((t) => JSON.parse(t), () => ({}))
  : {};
const latest = {
  ...record,
  results: { ...(prev.results ?? {}), ...results },
  measured_at: {
    ...Object.fromEntries(
      Object.keys(prev.results ?? {}).map((k) => [k, prev.measured_at?.[k] ?? prev.date ?? "?"]),
    ),
    ...measuredAt,
  },
};
await Deno.writeTextFile("bench-results/latest.json", JSON.stringify(latest, null, 2) + "\n");
console.error(`[bench] written bench-results/${stamp}.json and bench-results/latest.json`);
