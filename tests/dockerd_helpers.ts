/**
 * The Docker daemon stopped and started again the way a box's init does (scripts/ensure_docker.sh),
 * for the tiers that restart it (fault_restart_test.ts, docker_dhcp_move_test.ts). Only for tests
 * that own the engine for their duration: CI runs the tiers one after the other.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sleep } from "./cloud_helpers.ts";
import { sh } from "./docker_helpers.ts";
import { eventually } from "./fault_common.ts";

async function dockerAnswers(): Promise<boolean> {
  return await sh("docker", "info", "--format", "{{.ServerVersion}}").then(() => true, () => false);
}

const pidofDockerd = () => sh("pidof", "dockerd").then((o) => o.trim(), () => "");

/** Starts dockerd with scripts/ensure_docker.sh unless one runs; up means: a dockerd process
 * exists and answers, still 3 s later (a daemon finishing its shutdown can answer for a moment,
 * so the answer alone proves nothing). Retries the start, and prints what it saw. */
export async function ensureDockerd(): Promise<void> {
  const script = new URL("../scripts/ensure_docker.sh", import.meta.url).pathname;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!(await pidofDockerd()) || !(await dockerAnswers())) {
      await sh("bash", script).catch((e) => console.log(`  ensure_docker.sh: ${e}`));
    }
    await sleep(3_000);
    const pid = await pidofDockerd();
    if (pid && await dockerAnswers()) return;
    console.log(`  dockerd not up after attempt ${attempt + 1} (pidof: "${pid}")`);
  }
  throw new Error("dockerd does not stay up: see /var/log/dockerd.log");
}

/** SIGTERM to dockerd (a graceful stop), then waits until the process is gone. */
export async function stopDockerd(): Promise<void> {
  const pids = (await sh("pidof", "dockerd")).trim().split(" ");
  for (const p of pids) Deno.kill(Number(p), "SIGTERM");
  await eventually(
    async () => {
      assert.equal(await sh("pidof", "dockerd").then(() => "up", () => "gone"), "gone");
    },
    60_000,
    250,
  );
}

/** A graceful stop, then a start that stays up. */
export async function restartDockerd(): Promise<void> {
  await stopDockerd();
  await ensureDockerd();
}
