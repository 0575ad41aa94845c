/**
 * `deno task bundle`: builds the agent's shipped file (permissions.json `agent.bundle.output`,
 * dist/agent.js) exactly as the image's build stage does, for the benchmark and for running the
 * shipped form from a checkout (`deno run --no-config <agent flags> dist/agent.js`).
 * Decision 0012 says why the agent ships bundled.
 *
 * Usage: deno task bundle [--output FILE]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { bundleArgs, loadPermissions } from "./permissions.ts";

/** Bundles the agent into `output` (default: its place in permissions.json); throws on failure. */
export async function bundleAgent(output?: string): Promise<string> {
  const agent = (await loadPermissions()).agent;
  const args = bundleArgs(agent, output);
  const out = await new Deno.Command("deno", {
    args,
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `deno ${args.join(" ")} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return args[args.length - 2]!;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(
      "Usage: deno task bundle [--output FILE]\n" +
        "Builds the agent's shipped file (dist/agent.js by default), as the image does.",
    );
    Deno.exit(0);
  }
  try {
    console.log(`bundled the agent into ${await bundleAgent(values.output)}`);
  } catch (err) {
    console.error(`bundle: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
