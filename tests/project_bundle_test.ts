/**
 * The agent's shipped file (decision 0012): `deno task bundle` builds it as the image's build
 * stage does, and it starts with the agent's flags and environment and no config: its npm
 * packages are inside, the ones left out are answered by dockerode_slim (a missing stand-in
 * would end it at load with "Cannot find module"), and `doctor` (loaded on demand) is there.
 * The installer tests run the same file inside the image against the control plane.
 */
import assert from "node:assert/strict";
import { bundleAgent } from "../scripts/bundle.ts";
import { loadPermissions, shippedRunArgs } from "../scripts/permissions.ts";

Deno.test("the bundled agent loads, answers --help and runs doctor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eo_bundle_" });
  try {
    const agent = (await loadPermissions()).agent;
    const file = await bundleAgent(`${dir}/${agent.bundle!.output}`);
    const text = await Deno.readTextFile(file);
    // Node's crypto is not in the agent's idle path (issue 15): only Web Crypto and Deno's TLS.
    assert.doesNotMatch(text, /from\s*"node:crypto"/);
    const run = async (extra: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: shippedRunArgs(agent, dir, extra),
        env: agent.env,
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
    };
    const help = await run(["--help"]);
    assert.equal(help.code, 0, help.out);
    assert.match(help.out, /^Usage: agent/m);
    const doctor = await run(["doctor", "--mtls-dir", `${dir}/none`, "--state-dir", `${dir}/s`]);
    assert.match(doctor.out, /client\.crt/, doctor.out);
    assert.doesNotMatch(doctor.out, /Cannot find module|is not loaded in the agent/, doctor.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
