/**
 * `deno task compile`: `deno compile` of agent and netmon for x86_64 and aarch64 Linux, with the
 * permission flags of permissions.json (the same the run tasks and Dockerfiles use). Needs a
 * machine that can download Deno's `denort` runtime (not this build machine, see
 * environment.md). `--dry-run` prints the commands only.
 *
 * @module
 */
import { COMPILE_TARGETS, compileArgs, loadPermissions } from "./permissions.ts";

const perms = await loadPermissions();
const dryRun = Deno.args.includes("--dry-run");
for (const name of ["agent", "netmon"] as const) {
  for (const target of COMPILE_TARGETS) {
    const args = compileArgs(name, perms[name], target);
    console.log(`deno ${args.join(" ")}`);
    if (dryRun) continue;
    const { code } = await new Deno.Command("deno", { args }).spawn().status;
    if (code !== 0) {
      console.error(`deno compile of ${name} for ${target} failed (exit ${code})`);
      Deno.exit(code);
    }
  }
}
