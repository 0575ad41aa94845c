/**
 * Shared pieces of the `fault_` tier: a seeded random source (the seed is printed so a failing
 * run can be replayed with `FAULT_SEED=<n>`), a poller, and the Docker objects that carry our
 * ownership label.
 *
 * @module
 */
import { sh } from "./docker_helpers.ts";

/** Seed of this run: `FAULT_SEED` or a fresh one, printed by the caller. */
export const SEED = Number(Deno.env.get("FAULT_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a tiny seeded PRNG in [0, 1). */
export { seededRandom as seeded } from "../agent/session/seeded_random.ts";

/** Polls `check` (which throws while not yet true) until it passes or `ms` elapse. */
export async function eventually<T>(check: () => Promise<T>, ms: number, every = 250): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, every));
    }
  }
}

/** Names of containers and networks labelled `io.edge-orchestrator.managed=1`. */
export async function managedObjects(): Promise<{ containers: string[]; networks: string[] }> {
  const f = ["--filter", "label=io.edge-orchestrator.managed=1", "--format", "{{.Names}}"];
  const containers = (await sh("docker", "ps", "-a", ...f)).split("\n").filter(Boolean);
  const networks = (await sh(
    "docker",
    "network",
    "ls",
    "--filter",
    "label=io.edge-orchestrator.managed=1",
    "--format",
    "{{.Name}}",
  )).split("\n").filter(Boolean);
  return { containers: containers.sort(), networks: networks.sort() };
}
