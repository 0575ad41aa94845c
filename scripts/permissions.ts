/**
 * Reads `permissions.json`, the single source of every program's Deno permission flags, and
 * renders what the deno.json tasks, `deno task compile`, the Dockerfiles and the test harnesses
 * need. `scripts/permissions_test.ts` fails when any of them drifts.
 *
 * @module
 */

/** A program we ship. */
export type ProgramName = "agent" | "netmon" | "devcloud";

/** Entry point and flags of one program. */
export interface ProgramPermissions {
  /** Entry module, relative to the repository root. */
  entry: string;
  /** Deno permission flags, never `-A`. */
  flags: string[];
  /**
   * Environment the program starts with wherever it is started for real (task, image, bench):
   * the agent's glibc malloc setting (docs/decisions/0012-agent-footprint.md).
   */
  env?: Record<string, string>;
  /**
   * The shipped program is this one bundled file (the agent's image runs it): `output` relative
   * to the repository root (or the image's /app), `external` the npm packages left out, which
   * the program answers itself at run time (agent/docker/dockerode_slim.ts).
   */
  bundle?: { output: string; external: string[] };
}

const ROOT = new URL("../", import.meta.url);

/** Loads permissions.json (needs read access to the repository). */
export async function loadPermissions(): Promise<Record<ProgramName, ProgramPermissions>> {
  const raw = JSON.parse(await Deno.readTextFile(new URL("permissions.json", ROOT)));
  delete raw.$comment;
  for (const [name, p] of Object.entries(raw) as [string, ProgramPermissions][]) {
    if (p.flags.some((f) => f === "-A" || f === "--allow-all")) {
      throw new TypeError(`permissions.json: ${name} must not use -A / --allow-all`);
    }
  }
  return raw;
}

/** `K=V ` for each variable of the program's environment (a shell / deno task prefix). */
function envPrefix(p: ProgramPermissions): string {
  return Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
}

/** The deno.json task command of a program (from the source tree: the task is for development). */
export function taskCommand(p: ProgramPermissions): string {
  return `${envPrefix(p)}deno run ${p.flags.join(" ")} ${p.entry}`;
}

/**
 * `deno bundle` argument vector of a bundled program: one file for Deno, minified (measured:
 * 1.5 MiB less RSS for the agent than the same bundle unminified: V8 keeps the source). Not
 * `--keep-names`: with it Deno 2.9 no longer gives the bundle its `require` (every npm package's
 * first `require` throws "Dynamic require ... is not supported").
 */
export function bundleArgs(p: ProgramPermissions, output = p.bundle?.output): string[] {
  if (!p.bundle || !output) throw new TypeError(`${p.entry} is not bundled (permissions.json)`);
  return [
    "bundle",
    "--frozen-lockfile",
    "--platform",
    "deno",
    "--minify",
    ...p.bundle.external.flatMap((e) => ["--external", e]),
    "--output",
    output,
    p.entry,
  ];
}

/**
 * `deno run` argument vector of the shipped form of a program: its bundle when it has one (no
 * config: the bundle needs no import map, lockfile or npm resolution), else its entry.
 */
export function shippedRunArgs(
  p: ProgramPermissions,
  root: string,
  extra: string[] = [],
): string[] {
  return p.bundle
    ? ["run", "--no-config", ...p.flags, `${root}/${p.bundle.output}`, ...extra]
    : ["run", ...p.flags, `${root}/${p.entry}`, ...extra];
}

/** `deno run` argument vector (for subprocesses in tests, demo and bench). */
export function runArgs(p: ProgramPermissions, extra: string[] = []): string[] {
  return ["run", ...p.flags, p.entry, ...extra];
}

/** The command line the image starts a program with (its files are in /app; nothing fetched). */
function imageArgv(p: ProgramPermissions): string[] {
  const [run, ...rest] = shippedRunArgs(p, "/app");
  return ["deno", run!, "--cached-only", ...rest];
}

/** The exec-form ENTRYPOINT line of a Dockerfile (the image keeps its files in /app). */
export function dockerEntrypoint(p: ProgramPermissions): string {
  return `ENTRYPOINT ${JSON.stringify(imageArgv(p)).replaceAll('","', '", "')}`;
}

/**
 * The final stage's `RUN` line that starts a bundled program once, with the ENTRYPOINT's own
 * command line plus `--help`, so the image ships the bundle's import analysis in its DENO_DIR.
 * Why: Deno parses a module it has not seen before (the 0.7 MB bundle) to find its imports and
 * caches the answer in DENO_DIR; done at a container's first start, that parse left 13-17 MiB
 * in one of malloc's thread arenas for the life of the process (measured: first run of a new
 * bundle 75.9-80.5 MiB RSS, the same file warmed 61.9 MiB; decision 0012). A fresh container
 * (install, upgrade) is always a first run unless the image carries the answer.
 */
export function dockerWarm(p: ProgramPermissions): string {
  const argv = [...imageArgv(p), "--help"];
  // Shell form (its usage text goes to /dev/null, not the build log): no argument may need quoting.
  const odd = argv.find((a) => !/^[\w\-=,.:/]+$/.test(a));
  if (odd) throw new TypeError(`Cannot render ${JSON.stringify(odd)} in a shell-form RUN`);
  return `RUN ${argv.join(" ")} > /dev/null`;
}

/** The Dockerfile `ENV` line of a program's environment, or null when it has none. */
export function dockerEnv(p: ProgramPermissions): string | null {
  const vars = Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${v}`);
  return vars.length ? `ENV ${vars.join(" ")}` : null;
}

/** The build stage's bundle command of a Dockerfile (one line inside its `RUN`). */
export function dockerBundle(p: ProgramPermissions): string {
  return `    deno ${bundleArgs(p).join(" ")}`;
}

/** The `deno compile` argument vector of a program for one target. */
export function compileArgs(
  name: ProgramName,
  p: ProgramPermissions,
  target: string,
  outDir = "dist",
): string[] {
  return [
    "compile",
    ...p.flags,
    "--target",
    target,
    "--output",
    `${outDir}/${name}-${target}`,
    p.entry,
  ];
}

/** Targets `deno task compile` builds. */
export const COMPILE_TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] as const;

/** Which Dockerfile ships which program. */
export const DOCKERFILES: Partial<Record<ProgramName, string>> = {
  agent: "Dockerfile",
  netmon: "Dockerfile.netmon",
};
