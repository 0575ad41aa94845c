/**
 * What the installer tests share: the two images built once from this tree (skipped when an
 * image with the same source hash exists, so a CI run builds each once whatever the number of
 * installer tests), the installer run with its container and volume names made unique (a real
 * install, or another test's, is never touched), and what a test checks on Docker afterwards.
 *
 * @module
 */
import { sh } from "./docker_helpers.ts";

/** The repository root (ends with "/"). */
export const ROOT = new URL("..", import.meta.url).pathname;
/** Tags of the images the installer tests install. */
export const AGENT_IMAGE = "edge-orchestrator/agent:test";
/** See {@linkcode AGENT_IMAGE}. */
export const NETMON_IMAGE = "edge-orchestrator/netmon:test";

/** SHA-256 over the paths and contents of what an image is built from. */
async function sourceHash(paths: string[]): Promise<string> {
  const files: string[] = [];
  const walk = async (p: string) => {
    const info = await Deno.stat(`${ROOT}${p}`);
    if (info.isFile) return void files.push(p);
    for await (const e of Deno.readDir(`${ROOT}${p}`)) await walk(`${p}/${e.name}`);
  };
  for (const p of paths) await walk(p);
  const parts: Uint8Array[] = [];
  for (const f of files.sort()) {
    parts.push(new TextEncoder().encode(`\0${f}\0`), await Deno.readFile(`${ROOT}${f}`));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Builds `tag` from `dockerfile` unless an image with the same source hash exists. */
async function buildImage(tag: string, dockerfile: string, program: string): Promise<void> {
  const common = ["deno.json", "deno.lock", "permissions.json", "contracts"];
  const hash = await sourceHash([dockerfile, ...common, program]);
  const label = '{{index .Config.Labels "io.edge-orchestrator.source-hash"}}';
  const have = await sh("docker", "image", "inspect", "-f", label, tag).catch(() => "");
  if (have.trim() === hash) return console.log(`${tag} is up to date (${hash})`);
  await sh("bash", `${ROOT}scripts/build_base_images.sh`);
  // An intercepting proxy's CA (as on this build machine) reaches `deno cache` as a build secret
  // (README.md, "The local control plane and the installer").
  const bundle = "/etc/ssl/certs/ca-certificates.crt";
  const secret = await Deno.stat(bundle).then(
    () => ["--secret", `id=extra_ca,src=${bundle}`],
    () => [],
  );
  const t0 = performance.now();
  await sh(
    "docker",
    "build",
    "-q",
    ...secret,
    "--label",
    `io.edge-orchestrator.source-hash=${hash}`,
    "-f",
    `${ROOT}${dockerfile}`,
    "-t",
    tag,
    ROOT,
  );
  console.log(`built ${tag} (${hash}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** Both images, built when their sources changed. */
export async function buildImages(): Promise<void> {
  await Promise.all([
    buildImage(AGENT_IMAGE, "Dockerfile", "agent"),
    buildImage(NETMON_IMAGE, "Dockerfile.netmon", "netmon"),
  ]);
}

/** The names the installer uses in one test (its environment overrides). */
export interface InstallNames {
  ORCHESTRATOR_AGENT_NAME: string;
  ORCHESTRATOR_NETMON_NAME: string;
  ORCHESTRATOR_VOLUME: string;
}

/** Names unique to this run: `<prefix>-agent-<tag>` etc. */
export function uniqueNames(prefix: string): InstallNames {
  const tag = crypto.randomUUID().slice(0, 6);
  return {
    ORCHESTRATOR_AGENT_NAME: `${prefix}-agent-${tag}`,
    ORCHESTRATOR_NETMON_NAME: `${prefix}-netmon-${tag}`,
    ORCHESTRATOR_VOLUME: `${prefix}-shared-${tag}`,
  };
}

/** What one installer run printed. */
export interface InstallRun {
  code: number;
  /** stdout then stderr. */
  out: string;
  stderr: string;
}

/** Runs `scripts/install.sh args` with `names`; never throws on a non-zero exit. */
export async function runInstaller(names: InstallNames, args: string[]): Promise<InstallRun> {
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/install.sh`, ...args],
    env: { ...names },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, out: stdout + stderr, stderr };
}

/** Runs the installer and expects exit 0 (the assertion message holds its output). */
export async function install(names: InstallNames, args: string[]): Promise<string> {
  const run = await runInstaller(names, args);
  if (run.code !== 0) {
    throw new Error(`install.sh ${args.join(" ")} exited ${run.code}:\n${run.out}`);
  }
  return run.out;
}

/** `docker inspect -f format name`, trimmed; rejects when the object does not exist. */
export function inspect(name: string, format: string): Promise<string> {
  return sh("docker", "inspect", "-f", format, name).then((s) => s.trim());
}

/** Whether a container (or, with `volume`, a volume) of that name exists. */
export async function exists(name: string, what: "container" | "volume"): Promise<boolean> {
  return await sh("docker", what, "inspect", name).then(() => true, () => false);
}

/** Removes everything a test's install may have left (containers, volume); never throws. */
export async function removeInstall(names: InstallNames): Promise<void> {
  for (const c of [names.ORCHESTRATOR_AGENT_NAME, names.ORCHESTRATOR_NETMON_NAME]) {
    await sh("docker", "rm", "-f", c).catch(() => {});
  }
  await sh("docker", "volume", "rm", "-f", names.ORCHESTRATOR_VOLUME).catch(() => {});
}
