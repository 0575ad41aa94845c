/**
 * The installer end to end, on the local Docker engine: both images built here (skipped when an
 * image with the same source hash exists), the dev control plane serving provisioning over HTTPS,
 * `scripts/install.sh` run against it, then: the device id printed, certificate files 600 / 644
 * in a 700 directory, the *containerised* agent heartbeats, creates a runtime with a vNIC on a
 * veth parent, reaches it over `<name>_internal` (run_command), deletes it; a second install
 * changes nothing (same container ids); `--uninstall` removes both containers.
 * Needs root and a Docker engine.
 */
import assert from "node:assert/strict";
import { startDevCloud } from "../scripts/devcloud/server.ts";
import { TEST_BITS } from "./cloud_helpers.ts";
import {
  assertEngineFree,
  ensureStandin,
  makeParent,
  sh,
  skipReason,
  STANDIN,
} from "./docker_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const AGENT_IMAGE = "edge-orchestrator/agent:test";
const NETMON_IMAGE = "edge-orchestrator/netmon:test";
/** Names the installer uses here (its env overrides), so a real install is never touched. */
const NAMES = {
  ORCHESTRATOR_AGENT_NAME: "eo-test-agent",
  ORCHESTRATOR_NETMON_NAME: "eo-test-netmon",
  ORCHESTRATOR_VOLUME: "eo-test-shared",
};
/** A creation takes 2-10 s here; the agent in a container also pulls (fails fast) first. */
const RUNNING_TIMEOUT_MS = 90_000;

const skip = await skipReason();
if (skip) console.log(`docker_install_test skipped: ${skip}`);

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
  const have = await sh(
    "docker",
    "image",
    "inspect",
    "-f",
    '{{index .Config.Labels "io.edge-orchestrator.source-hash"}}',
    tag,
  )
    .catch(() => "");
  if (have.trim() === hash) return console.log(`${tag} is up to date (${hash})`);
  await sh("bash", `${ROOT}scripts/build_base_images.sh`);
  // An intercepting proxy's CA (as on this build machine) reaches `deno cache` as a build secret.
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

async function install(args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/install.sh`, ...args],
    env: NAMES,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `install.sh ${args.join(" ")} failed:\n${text}`);
  return text;
}

const containerId = (name: string) =>
  sh("docker", "inspect", "-f", "{{.Id}}", name).then((s) => s.trim());
const mode = async (path: string) => ((await Deno.stat(path)).mode! & 0o777).toString(8);

Deno.test({
  name: "install.sh: provisions, starts both containers, the agent runs a runtime; idempotent",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await Promise.all([
    buildImage(AGENT_IMAGE, "Dockerfile", "agent"),
    buildImage(NETMON_IMAGE, "Dockerfile.netmon", "netmon"),
  ]);
  for (const tag of [AGENT_IMAGE, NETMON_IMAGE]) {
    console.log(
      `${tag}: ${(await sh("docker", "image", "inspect", "-f", "{{.Size}}", tag)).trim()} bytes`,
    );
  }
  await ensureStandin();
  await assertEngineFree();
  const tag = crypto.randomUUID().slice(0, 4);
  const runtime = `eo-inst-${tag}`;
  const parentName = `eoin${tag}`;
  const macvlan = `macvlan_${parentName}_203.0.113.0_24`;
  const dir = await Deno.makeTempDir({ prefix: "eo-install-" });
  const mtls = `${dir}/mtls`;
  const parent = await makeParent(parentName, "203.0.113.250/24", "203.0.113.0/24");
  // The agent container dials the host by name; the server certificate must carry it.
  const cloud = await startDevCloud({
    dir: `${dir}/cloud`,
    bits: TEST_BITS,
    apiPort: null,
    provisionPort: 0,
    serverSans: ["host.docker.internal", "172.17.0.1"],
    log: () => {},
  });
  const args = [
    "--server",
    `https://host.docker.internal:${cloud.port}`,
    "--provision-url",
    cloud.provisionUrl!,
    "--server-ca",
    cloud.caFile,
    "--agent-image",
    AGENT_IMAGE,
    "--netmon-image",
    NETMON_IMAGE,
    "--mtls-dir",
    mtls,
    "--runtime-image",
    STANDIN,
    "--add-host",
    "host.docker.internal:host-gateway",
  ]; // deno-fmt-ignore
  try {
    const first = await install(args);
    const id = /device id: (\d{8})\b/.exec(first)?.[1];
    assert.ok(id, `no device id in the installer's output:\n${first}`);
    assert.match(first, /agent connected to/, first);
    assert.equal(await mode(mtls), "700");
    assert.equal(await mode(`${mtls}/client.key`), "600");
    assert.equal(await mode(`${mtls}/client.crt`), "644");

    await cloud.waitForAgent(id, 30_000);
    const send = (topic: string, payload: unknown) =>
      cloud.send(id, topic, payload, 30_000) as Promise<Record<string, unknown>>;
    const beats = Date.now();
    while (cloud.heartbeats(id).length < 1) {
      assert.ok(Date.now() - beats < 15_000, "no heartbeat from the agent container in 15 s");
      await new Promise((r) => setTimeout(r, 250));
    }

    // Both HEALTHCHECK commands, run now instead of waiting for Docker's 30 s interval.
    const health = async (name: string) =>
      JSON.parse(await sh("docker", "inspect", "-f", "{{json .Config.Healthcheck.Test}}", name));
    for (const name of [NAMES.ORCHESTRATOR_NETMON_NAME, NAMES.ORCHESTRATOR_AGENT_NAME]) {
      const test: string[] = await health(name);
      const argv = test[0] === "CMD-SHELL" ? ["sh", "-c", test[1]!] : test.slice(1);
      // The agent touches its health file on heartbeat ticks (every 5 s): allow three.
      const until = Date.now() + 15_000;
      for (;;) {
        const ok = await sh("docker", "exec", name, ...argv).then(() => true, () => false);
        if (ok) break;
        assert.ok(Date.now() < until, `${name}: its HEALTHCHECK (${argv.join(" ")}) fails`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }

    const ack = await send("create_new_runtime", {
      correlation_id: 1,
      container_name: runtime,
      vnic_configs: [{
        name: "eth0",
        parent_interface: parentName,
        network_mode: "manual",
        ip_address: "203.0.113.61",
        subnet: "255.255.255.0",
      }],
    });
    assert.equal(ack.status, "creating", JSON.stringify(ack));
    const end = Date.now() + RUNNING_TIMEOUT_MS;
    let status: Record<string, unknown> = {};
    while (!(status.status === "success" && status.is_running)) {
      assert.ok(Date.now() < end, `not running in time: ${JSON.stringify(status)}`);
      assert.notEqual(status.status, "error", JSON.stringify(status));
      await new Promise((r) => setTimeout(r, 500));
      status = await send("get_device_status", { device_id: runtime });
    }
    const nets = status.networks as Record<string, { ip_address: string; mac_address: string }>;
    assert.equal(nets[macvlan]?.ip_address, "203.0.113.61", JSON.stringify(status));
    // The agent container reaches the runtime over <name>_internal.
    const version = await send("run_command", { device_id: runtime, method: "GET", api: "/api/version" });
    const http = version.http_response as { status_code: number; body: unknown };
    assert.equal(http.status_code, 200, `run_command from the agent container: ${JSON.stringify(version)}`);

    assert.equal((await send("delete_device", { device_id: runtime })).status, "deleting");
    const gone = Date.now() + 60_000;
    while ((await send("get_device_status", { device_id: runtime })).status !== "not_found") {
      assert.ok(Date.now() < gone, "runtime not deleted in 60 s");
      await new Promise((r) => setTimeout(r, 500));
    }

    const before = [await containerId(NAMES.ORCHESTRATOR_AGENT_NAME), await containerId(NAMES.ORCHESTRATOR_NETMON_NAME)];
    const second = await install(args);
    assert.match(second, /device certificate present/, second);
    const after = [await containerId(NAMES.ORCHESTRATOR_AGENT_NAME), await containerId(NAMES.ORCHESTRATOR_NETMON_NAME)];
    assert.deepEqual(after, before, `the second install replaced a container:\n${second}`);

    await install(["--uninstall"]);
    for (const name of [NAMES.ORCHESTRATOR_AGENT_NAME, NAMES.ORCHESTRATOR_NETMON_NAME]) {
      await assert.rejects(containerId(name), `${name} still exists after --uninstall`);
    }
  } finally {
    await install(["--uninstall", "--purge", "--mtls-dir", mtls]).catch(() => {});
    await sh("docker", "rm", "-f", runtime).catch(() => {});
    for (const net of [`${runtime}_internal`, macvlan]) {
      await sh("docker", "network", "rm", net).catch(() => {});
    }
    await cloud.stop();
    await parent.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
