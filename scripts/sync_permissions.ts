/**
 * Rewrites the deno.json tasks and the Dockerfile ENTRYPOINT, ENV, bundle and warm-up lines from
 * permissions.json (`deno task sync-permissions`). The compile task reads permissions.json at
 * run time.
 *
 * @module
 */
import {
  dockerBundle,
  dockerEntrypoint,
  dockerEnv,
  DOCKERFILES,
  dockerWarm,
  loadPermissions,
  type ProgramName,
  taskCommand,
} from "./permissions.ts";

const perms = await loadPermissions();
const config = JSON.parse(await Deno.readTextFile("deno.json"));
for (const name of Object.keys(perms) as ProgramName[]) {
  const p = perms[name];
  config.tasks[name] = taskCommand(p);
  const file = DOCKERFILES[name];
  if (!file) continue;
  let text = (await Deno.readTextFile(file))
    .replace(/^ENTRYPOINT \["deno", "run".*$/m, dockerEntrypoint(p));
  if (p.bundle) {
    text = text.replace(/^ {4}deno bundle .*$/m, dockerBundle(p))
      .replace(/^RUN deno run --cached-only .*$/m, dockerWarm(p));
  }
  const env = dockerEnv(p);
  if (env) text = text.replace(/^ENV MALLOC_.*$/m, env);
  await Deno.writeTextFile(file, text);
}
await Deno.writeTextFile("deno.json", JSON.stringify(config, null, 2) + "\n");
console.log("deno.json tasks and Dockerfile entry points now match permissions.json");
