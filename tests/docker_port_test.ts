/**
 * The Docker port against the real engine, through dockerode and the agent's own transport
 * (agent/docker/fetch_modem.ts): engine errors keep their status and message, label filters
 * reach the engine as JSON, the event stream delivers and ends at once when aborted (the agent's
 * shutdown waits for it), a socket nobody answers on and a pull that cannot happen are clear
 * errors. Needs Docker (and root, like every Docker tier).
 */
import assert from "node:assert/strict";
import { dockerodePort } from "../agent/docker/dockerode_adapter.ts";
import { DockerError, type DockerEvent } from "../agent/docker/port.ts";
import { ensureStandin, realPort, sh, skipReason, STANDIN, TEST_LABELS } from "./docker_helpers.ts";
import { serveImage } from "./oci_registry.ts";

const skip = await skipReason();
if (skip) console.log(`docker_port_test skipped: ${skip}`);
const opts = { ignore: skip !== null, sanitizeOps: false, sanitizeResources: false };

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("Docker port over the engine: errors, filters, events, shutdown", opts, async (t) => {
  await ensureStandin();
  const port = realPort();
  const name = `eo-port-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await t.step("version; a missing container is null, or a 404 DockerError", async () => {
      assert.match((await port.version()).apiVersion, /^\d+\.\d+$/);
      assert.equal(await port.inspectContainer(`${name}-none`), null);
      const err = await port.startContainer(`${name}-none`).then(() => null, (e) => e);
      assert.ok(err instanceof DockerError, String(err));
      assert.equal(err.statusCode, 404);
      assert.match(err.message, /No such container/);
    });

    await t.step("events: a start arrives; label filter; abort ends the stream", async () => {
      const ac = new AbortController();
      const seen: DockerEvent[] = [];
      let ended = false;
      const following = port.events!((e) => seen.push(e), ac.signal).finally(() => ended = true);
      await new Promise((r) => setTimeout(r, 300)); // the subscription is in place
      const labels = Object.entries(TEST_LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
      await sh("docker", "run", "-d", "--name", name, ...labels, STANDIN);
      await until(
        `a start event of ${name}`,
        () =>
          seen.some((e) =>
            e.type === "container" && e.action === "start" && e.name === name &&
            e.labels["io.edge-orchestrator.test"] === "1"
          ),
      );
      const listed = await port.listContainers(TEST_LABELS);
      assert.ok(listed.some((c) => c.name === name), JSON.stringify(listed));
      assert.ok((await port.inspectContainer(name))?.running);
      ac.abort();
      await until("the event stream to end after abort", () => ended, 5_000);
      await following;
    });

    await t.step("an engine that does not answer is said in words", async () => {
      const gone = dockerodePort(`/tmp/eo-no-docker-${name}.sock`);
      const err = await gone.version().then(() => null, (e) => e);
      assert.ok(err instanceof DockerError, String(err));
      assert.match(err.message, /not answering/);
    });

    await t.step("a pull that cannot happen fails with the engine's reason", async () => {
      const err = await port.pullImage("127.0.0.1:1/eo-none/none:1", () => {}).then(
        () => null,
        (e) => e,
      );
      assert.ok(err instanceof DockerError, String(err));
      assert.match(err.message, /127\.0\.0\.1:1/);
    });

    await t.step("a pull streams its progress to the end, then the image is there", async () => {
      const registry = await serveImage(STANDIN);
      try {
        const progress: string[] = [];
        await port.pullImage(registry.ref, (p) => progress.push(p.status));
        assert.ok(await port.imageExists(registry.ref), registry.log.join("\n"));
        assert.ok(progress.some((s) => /Pulling from eo-test\/img/.test(s)), progress.join("\n"));
        assert.match(progress.at(-1) ?? "", /Status: (Downloaded newer image|Image is up to date)/);
        assert.ok(
          registry.log.some((l) => /^(GET|HEAD) \/v2\/eo-test\/img\/manifests\/1 200$/.test(l)),
          registry.log.join("\n"),
        );
      } finally {
        await sh("docker", "rmi", registry.ref).catch(() => {});
        await registry.stop();
      }
    });
  } finally {
    await sh("docker", "rm", "-f", name).catch(() => {});
  }
});
