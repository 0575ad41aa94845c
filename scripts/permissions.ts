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

/** The deno.json task command of a program. */
export function taskCommand(p: ProgramPermissions): string {
  return `deno run ${p.flags.join(" ")} ${p.entry}`;
}

/** `deno run` argument vector (for subprocesses in tests, demo and bench). */
export function runArgs(p: ProgramPermissions, extra: string[] = []): string[] {
  return ["run", ...p.flags, p.entry, ...extra];
}

/** The exec-form ENTRYPOINT line of a Dockerfile (the image keeps the source tree in /app). */
export function dockerEntrypoint(p: ProgramPermissions): string {
  const argv = ["deno", "run", "--cached-only", ...p.flags, `/app/${p.entry}`];
  return `ENTRYPOINT ${JSON.stringify(argv).replaceAll('","', '", "')}`;
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
