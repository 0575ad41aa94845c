/**
 * Project invariants: every place that starts a program uses exactly the flags of
 * permissions.json, and no program is ever started with -A.
 */
import assert from "node:assert/strict";
import {
  COMPILE_TARGETS,
  compileArgs,
  dockerBundle,
  dockerEntrypoint,
  dockerEnv,
  DOCKERFILES,
  dockerWarm,
  loadPermissions,
  type ProgramName,
  taskCommand,
} from "../scripts/permissions.ts";
import { SLIMMED } from "../agent/docker/dockerode_slim.ts";

const perms = await loadPermissions();
const config = JSON.parse(await Deno.readTextFile("deno.json"));

Deno.test("deno.json tasks match permissions.json", () => {
  for (const name of Object.keys(perms) as ProgramName[]) {
    assert.equal(config.tasks[name], taskCommand(perms[name]), `task "${name}" drifted`);
  }
});

Deno.test("Dockerfile entry points match permissions.json", async () => {
  for (const [name, file] of Object.entries(DOCKERFILES) as [ProgramName, string][]) {
    const text = await Deno.readTextFile(file);
    const lines = text.split("\n").filter((l) => l.startsWith("ENTRYPOINT"));
    assert.deepEqual(lines, [dockerEntrypoint(perms[name])], `${file} drifted`);
  }
});

Deno.test("the agent's image bundles it as permissions.json says and starts it with its environment", async () => {
  for (const [name, file] of Object.entries(DOCKERFILES) as [ProgramName, string][]) {
    const p = perms[name];
    const lines = (await Deno.readTextFile(file)).split("\n");
    if (p.bundle) {
      assert.deepEqual(lines.filter((l) => /^ {4}deno bundle /.test(l)), [dockerBundle(p)], file);
      // The image starts the bundle once at build time (its import analysis lands in DENO_DIR):
      // same command line as the ENTRYPOINT, after the bundle and DENO_DIR are in the final stage.
      const warm = lines.indexOf(dockerWarm(p));
      assert.ok(warm >= 0, `${file} lacks its warm-up line`);
      assert.equal(lines.filter((l) => l.startsWith("RUN deno run")).length, 1, file);
      const final = lines.findLastIndex((l) => l.startsWith("FROM "));
      const copy = lines.findIndex((l, i) => i > final && l.includes(p.bundle!.output));
      const dir = lines.findIndex((l, i) => i > final && /^ENV DENO_DIR=/.test(l));
      assert.ok(copy > final && dir > final && warm > copy && warm > dir, `${file}: warm-up order`);
    }
    const env = dockerEnv(p);
    if (env) assert.ok(lines.includes(env), `${file} lacks "${env}"`);
  }
});

Deno.test("the agent's bundle leaves out exactly what dockerode_slim answers", () => {
  assert.deepEqual([...perms.agent.bundle!.external].sort(), [...SLIMMED]);
});

Deno.test("deno task compile uses the shared flags for both targets", async () => {
  const out = await new Deno.Command("deno", {
    args: ["run", "--allow-read", "scripts/compile.ts", "--dry-run"],
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const expected = (["agent", "netmon"] as const).flatMap((name) =>
    COMPILE_TARGETS.map((t) => `deno ${compileArgs(name, perms[name], t).join(" ")}`)
  );
  assert.deepEqual(lines, expected);
});

Deno.test("no task, Dockerfile or script starts a program with -A", async () => {
  const texts = [
    JSON.stringify(config.tasks),
    ...await Promise.all(
      ["Dockerfile", "Dockerfile.netmon", ".ci/run", "scripts/test.sh", "scripts/demo.sh"].map((
        f,
      ) => Deno.readTextFile(f)),
    ),
  ];
  for (const t of texts) assert.doesNotMatch(t, /\s(-A|--allow-all)(\s|"|$)/);
});
