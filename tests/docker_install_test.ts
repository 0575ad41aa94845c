/**
 * The installer end to end, on the local Docker engine, as README.md's worked example runs it:
 * both images built here (once: skipped when an image with the same source hash exists), the
 * dev control plane serving provisioning over HTTPS with the Docker bridge's gateway in its
 * server certificate, `scripts/install.sh --server https://<gateway>:<port>` run against it.
 * Then: the device id printed, certificate files 600 / 644 in a 700 directory, "connected" from
 * the agent's own health file; the containers' memory ceilings; the volume root's, netmon's
 * socket in a directory of its own; the *containerised* agent heartbeats, creates a runtime with
 * a vNIC on a veth parent, reaches it over `<name>_internal` (run_command), deletes it; a second
 * install changes nothing (same container ids); with the control plane stopped the installer
 * does not say "connected"; `--uninstall` lists a runtime and leaves it running, and
 * `--uninstall --remove-runtimes` removes it and its network. Needs root and a Docker engine.
 */
import assert from "node:assert/strict";
import { startDevCloud } from "../scripts/devcloud/server.ts";
import { freeLans } from "../scripts/free_range.ts";
import { TEST_BITS } from "./cloud_helpers.ts";
import {
  assertEngineFree,
  ensureStandin,
  makeParent,
  sh,
  skipReason,
  STANDIN,
} from "./docker_helpers.ts";
import {
  AGENT_IMAGE,
  buildImages,
  exists,
  inspect,
  install,
  NETMON_IMAGE,
  removeInstall,
  uniqueNames,
} from "./docker_install_helpers.ts";

/** A creation takes 2-10 s here; the agent in a container also pulls (fails fast) first. */
const RUNNING_TIMEOUT_MS = 90_000;

const skip = await skipReason();
if (skip) console.log(`docker_install_test skipped: ${skip}`);

const mode = async (path: string) => ((await Deno.stat(path)).mode! & 0o777).toString(8);

Deno.test({
  name:
    "install.sh: provisions, starts both containers, the agent runs a runtime; idempotent, honest",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await buildImages();
  for (const tag of [AGENT_IMAGE, NETMON_IMAGE]) {
    console.log(`${tag}: ${await inspect(tag, "{{.Size}}")} bytes`);
  }
  await ensureStandin();
  await assertEngineFree();
  const names = uniqueNames("eo-inst");
  const tag = crypto.randomUUID().slice(0, 4);
  const runtime = `eo-inst-${tag}`;
  const second = `eo-inst2-${tag}`;
  const parentName = `eoin${tag}`;
  const [lan] = await freeLans(1);
  const macvlan = lan!.macvlan(parentName);
  const dir = await Deno.makeTempDir({ prefix: "eo-install-" });
  const mtls = `${dir}/mtls`;
  const parent = await makeParent(parentName, lan!.cidr(250), lan!.subnet);
  // The agent container reaches the host at the default bridge's gateway (172.17.0.1 on a
  // default engine): the server certificate must carry that address (README's worked example).
  const gateway = (await sh(
    "docker",
    "network",
    "inspect",
    "-f",
    "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
    "bridge",
  )).trim() || "172.17.0.1";
  const cloud = await startDevCloud({
    dir: `${dir}/cloud`,
    bits: TEST_BITS,
    apiPort: null,
    provisionPort: 0,
    serverSans: [gateway],
    log: () => {},
  });
  const args = [
    "--server",
    `https://${gateway}:${cloud.port}`,
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
  ]; // deno-fmt-ignore
  const agent = names.ORCHESTRATOR_AGENT_NAME;
  const netmon = names.ORCHESTRATOR_NETMON_NAME;
  const volume = names.ORCHESTRATOR_VOLUME;
  let cloudUp = true;
  try {
    const first = await install(names, args);
    const id = /device id: (\d{8})\b/.exec(first)?.[1];
    assert.ok(id, `no device id in the installer's output:\n${first}`);
    assert.match(first, new RegExp(`enrolled device ${id}`), first);
    assert.match(first, new RegExp(`link device ${id} in the Autonomy Edge app before \\d{4}-`));
    assert.match(first, /agent connected to .* \(session up since /, first);
    assert.equal(await mode(mtls), "700");
    assert.equal(await mode(`${mtls}/client.key`), "600");
    assert.equal(await mode(`${mtls}/client.crt`), "644");
    const subject = await sh("openssl", "x509", "-in", `${mtls}/client.crt`, "-noout", "-subject");
    assert.match(subject, new RegExp(`O ?= ?AutonomyLogic, OU ?= ?Production, CN ?= ?${id}`));

    // Memory ceilings (bytes) and the volume's owners: root's, netmon's directory uid 1000.
    assert.equal(await inspect(agent, "{{.HostConfig.Memory}}"), String(256 * 2 ** 20));
    assert.equal(await inspect(netmon, "{{.HostConfig.Memory}}"), String(128 * 2 ** 20));
    const owners = await sh(
      "docker",
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "sh",
      "-v",
      `${volume}:/v`,
      NETMON_IMAGE,
      "-c",
      "stat -c '%n %u %a' /v /v/netmon; test -S /v/netmon/netmon.sock && echo socket",
    ); // deno-fmt-ignore
    assert.match(owners, /^\/v 0 755$/m, owners);
    assert.match(owners, /^\/v\/netmon 1000 750$/m, owners);
    assert.match(owners, /^socket$/m, owners);
    const asNetmon = await sh(
      "docker",
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "1000:1000",
      "--entrypoint",
      "sh",
      "-v",
      `${volume}:/v`,
      NETMON_IMAGE,
      "-c",
      "touch /v/x 2>/dev/null && echo wrote || echo refused",
    ); // deno-fmt-ignore
    assert.equal(asNetmon.trim(), "refused", "netmon's user may write the state directory");

    await cloud.waitForAgent(id, 30_000);
    const send = (topic: string, payload: unknown) =>
      cloud.send(id, topic, payload, 30_000) as Promise<Record<string, unknown>>;
    const beats = Date.now();
    while (cloud.heartbeats(id).length < 1) {
      assert.ok(Date.now() - beats < 15_000, "no heartbeat from the agent container in 15 s");
      await new Promise((r) => setTimeout(r, 250));
    }

    // Both HEALTHCHECK commands, run now instead of waiting for Docker's 30 s interval.
    for (const name of [netmon, agent]) {
      const test: string[] = JSON.parse(await inspect(name, "{{json .Config.Healthcheck.Test}}"));
      const argv = test[0] === "CMD-SHELL" ? ["sh", "-c", test[1]!] : test.slice(1);
      // The agent writes its health file at start and every 30 s (agent/health_file.ts); the
      // check asks for one younger than a minute, so it passes at once; 15 s for a slow start.
      const until = Date.now() + 15_000;
      for (;;) {
        const ok = await sh("docker", "exec", name, ...argv).then(() => true, () => false);
        if (ok) break;
        assert.ok(Date.now() < until, `${name}: its HEALTHCHECK (${argv.join(" ")}) fails`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }

    const waitRunning = async (name: string) => {
      const end = Date.now() + RUNNING_TIMEOUT_MS;
      let status: Record<string, unknown> = {};
      while (!(status.status === "success" && status.is_running)) {
        assert.ok(Date.now() < end, `not running in time: ${JSON.stringify(status)}`);
        assert.notEqual(status.status, "error", JSON.stringify(status));
        await new Promise((r) => setTimeout(r, 500));
        status = await send("get_device_status", { device_id: name });
      }
      return status;
    };
    const ack = await send("create_new_runtime", {
      correlation_id: 1,
      container_name: runtime,
      vnic_configs: [{
        name: "eth0",
        parent_interface: parentName,
        network_mode: "manual",
        ip_address: lan!.at(61),
        subnet: lan!.netmask,
      }],
    });
    assert.equal(ack.status, "creating", JSON.stringify(ack));
    const status = await waitRunning(runtime);
    const nets = status.networks as Record<string, { ip_address: string; mac_address: string }>;
    assert.equal(nets[macvlan]?.ip_address, lan!.at(61), JSON.stringify(status));
    // The agent container reaches the runtime over <name>_internal.
    const version = await send("run_command", {
      device_id: runtime,
      method: "GET",
      api: "/api/version",
    });
    const http = version.http_response as { status_code: number; body: unknown };
    assert.equal(
      http.status_code,
      200,
      `run_command from the agent container: ${JSON.stringify(version)}`,
    );

    assert.equal((await send("delete_device", { device_id: runtime })).status, "deleting");
    const gone = Date.now() + 60_000;
    while ((await send("get_device_status", { device_id: runtime })).status !== "not_found") {
      assert.ok(Date.now() < gone, "runtime not deleted in 60 s");
      await new Promise((r) => setTimeout(r, 500));
    }

    // A runtime without a vNIC stays for the uninstall below.
    const ack2 = await send("create_new_runtime", { container_name: second, vnic_configs: [] });
    assert.equal(ack2.status, "creating", JSON.stringify(ack2));
    await waitRunning(second);

    const ids = () => Promise.all([inspect(agent, "{{.Id}}"), inspect(netmon, "{{.Id}}")]);
    const before = await ids();
    const again = await install(names, args);
    assert.match(again, /device certificate present/, again);
    assert.match(again, /agent connected to/, again);
    assert.deepEqual(await ids(), before, `the second install replaced a container:\n${again}`);

    // The control plane gone: the agent says it is not connected, and so does the installer.
    await cloud.stop();
    cloudUp = false;
    const offline = await install(names, [...args, "--timeout", "5"]);
    assert.doesNotMatch(offline, /agent connected/, offline);
    assert.match(offline, /agent not connected after 5s/, offline);

    const kept = await install(names, ["--uninstall", "--mtls-dir", mtls]);
    assert.match(
      kept,
      new RegExp(`1 runtime\\(s\\) of device ${id} keep running.*: ${second}`),
      kept,
    );
    assert.match(kept, /--uninstall --remove-runtimes/, kept);
    for (const name of [agent, netmon]) {
      assert.equal(
        await exists(name, "container"),
        false,
        `${name} still exists after --uninstall`,
      );
    }
    assert.equal(await inspect(second, "{{.State.Running}}"), "true");

    const removed = await install(names, ["--uninstall", "--remove-runtimes", "--mtls-dir", mtls]);
    assert.match(removed, new RegExp(`removed runtime ${second}`), removed);
    assert.equal(await exists(second, "container"), false, `${second} survived --remove-runtimes`);
    const left = await sh("docker", "network", "ls", "-q", "--filter", `name=^${second}_internal$`);
    assert.equal(left.trim(), "", `${second}_internal survived --remove-runtimes`);
  } finally {
    await install(names, ["--uninstall", "--purge", "--mtls-dir", mtls]).catch(() => {});
    await removeInstall(names);
    for (const name of [runtime, second]) await sh("docker", "rm", "-f", name).catch(() => {});
    for (const net of [`${runtime}_internal`, `${second}_internal`, macvlan]) {
      await sh("docker", "network", "rm", net).catch(() => {});
    }
    if (cloudUp) await cloud.stop();
    await parent.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
