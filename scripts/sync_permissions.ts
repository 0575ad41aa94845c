/**
 * Rewrites the deno.json tasks and the Dockerfile ENTRYPOINT lines from permissions.json
 * (`deno task sync-permissions`). The compile task reads permissions.json at run time.
 *
 * @module
 */
import {
  dockerEntrypoint,
  DOCKERFILES,
  loadPermissions,
  type ProgramName,
  taskCommand,
} from "./permissions.ts";

const perms = await loadPermissions();
const config = JSON.parse(await Deno.readTextFile("deno.json"));
for (const name of Object.keys(perms) as ProgramName[]) {
  config.tasks[name] = taskCommand(perms[name]);
  const file = DOCKERFILES[name];
  if (!file) continue;
  const text = await Deno.readTextFile(file);
  await Deno.writeTextFile(
    file,
    text.replace(/^ENTRYPOINT \["deno", "run".*$/m, dockerEntrypoint(perms[name])),
  );
}
await Deno.writeTextFile("deno.json", JSON.stringify(config, null, 2) + "\n");
console.log("deno.json tasks and Dockerfile entry points now match permissions.json");
