/**
 * In-place upgrade from the Python agent (issue 13), on the local Docker engine. The old layout
 * is built by hand the way the original installer and agent leave it (original-agent-reference.md
 * §1, §7, §8): a volume with the old agent's files, a certificate in an mTLS directory, a
 * runtime container without any label of ours and restart policy `no` on `<name>_internal` plus
 * a MACVLAN network, and the two old containers (stand-ins that only sleep: the names, mounts
 * and networks are what matter to the installer). Then `scripts/install.sh` with our images:
 * both containers are replaced by ours, the certificate is kept (no enrolment: the provisioning
 * URL is a closed port, so any attempt would fail), the agent connects with the old identity,
 * the volume keeps every old file, and the runtime is never stopped or restarted (same id,
 * StartedAt, restart count; still so after the agent ran a while). `--uninstall` names the
 * runtime and leaves it running. Adopting the runtime (status, commands, re-wiring) is the
 * agent's part, tested with the agent. Needs root and a Docker engine.
 */
import assert from "node:assert/strict";
import { startDevCloud } from "../scripts/devcloud/server.ts";
import { freeLans } from "../scripts/free_range.ts";
import { TEST_BITS } from "./cloud_helpers.ts";
import { ensureStandin, makeParent, sh, skipReason, STANDIN } from "./docker_helpers.ts";
import {
  AGENT_IMAGE,
  buildImages,
  inspect,
  install,
  NETMON_IMAGE,
  removeInstall,
  ROOT,
  uniqueNames,
} from "./docker_install_helpers.ts";

const skip = await skipReason();
if (skip) console.log(`docker_install_upgrade_test skipped: ${skip}`);

/** The old containers only need to exist and run: any local image that can sleep will do. */
const OLD_IMAGE = "debian:bookworm-slim";
/** How long the new agent runs before the runtime is checked again: a few reconcile passes. */
const SETTLE_MS = 10_000;

const sha = async (path: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");

/** Polls a status until `ok` (60 s). */
async function waitStatus(
  get: () => Promise<Record<string, unknown>>,
  ok: (s: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    last = await get().catch((e) => ({ error: String(e) }));
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`status never matched: ${JSON.stringify(last)}`);
}

Deno.test({
  name: "install.sh upgrades the Python agent in place: certificate, volume and runtimes kept",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await buildImages();
  await ensureStandin();
  await sh("bash", `${ROOT}scripts/build_base_images.sh`); // OLD_IMAGE
  const names = uniqueNames("eo-up");
  const agent = names.ORCHESTRATOR_AGENT_NAME;
  const netmon = names.ORCHESTRATOR_NETMON_NAME;
  const volume = names.ORCHESTRATOR_VOLUME;
  const tag = crypto.randomUUID().slice(0, 4);
  const runtime = `eo-up-rt-${tag}`;
  const internal = `${runtime}_internal`;
  const parentName = `eoup${tag}`;
  const [lan, lan2] = await freeLans(2);
  const macvlan = lan!.macvlan(parentName);
  const device = String(27_000_000 + Math.floor(Math.random() * 999_999));
  const dir = await Deno.makeTempDir({ prefix: "eo-upgrade-" });
  const parent = await makeParent(parentName, lan!.cidr(250), lan!.subnet);
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
    serverSans: [gateway],
    log: () => {},
  });
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = closed.addr.port;
  closed.close();
  try {
    // The Python installer's ~/.mtls: a device certificate of this control plane's CA.
    const mtls = `${dir}/mtls`;
    const issued = await cloud.issueDevice(device);
    await Deno.mkdir(mtls, { mode: 0o700 });
    await Deno.copyFile(`${issued}/client.crt`, `${mtls}/client.crt`);
    await Deno.copyFile(`${issued}/client.key`, `${mtls}/client.key`);
    await Deno.chmod(`${mtls}/client.key`, 0o600);
    const certBefore = await sha(`${mtls}/client.crt`);
    const keyBefore = await sha(`${mtls}/client.key`);

    // The runtime as the old agent creates it (§7.1-7.3): no labels, restart policy "no",
    // <name>_internal (internal bridge) and the MACVLAN network with a static address.
    await sh("docker", "network", "create", "--internal", internal);
    await sh(
      "docker",
      "network",
      "create",
      "-d",
      "macvlan",
      "-o",
      `parent=${parentName}`,
      "--subnet",
      lan!.subnet,
      macvlan,
    ); // deno-fmt-ignore
    await sh(
      "docker", "run", "-d", "--name", runtime, "--restart", "no", "--network", internal,
      "--cap-add", "SYS_NICE", "--cap-add", "MKNOD", STANDIN,
    ); // deno-fmt-ignore
    await sh("docker", "network", "connect", "--ip", lan!.at(62), macvlan, runtime);
    const internalIp = await inspect(
      runtime,
      `{{(index .NetworkSettings.Networks "${internal}").IPAddress}}`,
    );
    const mac = await inspect(
      runtime,
      `{{(index .NetworkSettings.Networks "${macvlan}").MacAddress}}`,
    );

    // The old agent's files on the volume (§1, §6.1, §8), one it does not know among them.
    const files = `${dir}/files`;
    const today = new Date().toISOString().slice(0, 10);
    const old: Record<string, string> = {
      "runtime_vnics.json": JSON.stringify(
        {
          [runtime]: [{
            name: "eth0",
            parent_interface: parentName,
            network_mode: "manual",
            ip: lan!.at(62),
            subnet: lan!.netmask,
            _interface_type: "ethernet",
            _is_wifi: false,
            _network_method: "macvlan",
            mac_address: mac,
            docker_network_name: macvlan,
          }],
        },
        null,
        2,
      ),
      "data/clients.json": JSON.stringify(
        { [runtime]: { ip: internalIp, name: runtime } },
        null,
        4,
      ),
      "data/serial_configs.json": "{}",
      "dedicated_nics.json": "{}",
      [`dhcp/${runtime}_eth0.lease`]: '{"ip": "", "note": "a lease file of udhcpc"}',
      // Today's: the agent appends to it (older days' files fall to its log retention).
      [`logs/orchestrator-logs-${today}.log`]: `${today} 00:00:00 | INFO | old log line\n`,
      "something_new.json": '{"kept": true}',
    };
    for (const [path, text] of Object.entries(old)) {
      await Deno.mkdir(`${files}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${files}/${path}`, text);
    }
    await sh("docker", "volume", "create", volume);
    await sh(
      "docker",
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      `${files}:/src:ro`,
      "-v",
      `${volume}:/v`,
      OLD_IMAGE,
      "sh",
      "-c",
      "cp -a /src/. /v/ && chown -R 0:0 /v",
    ); // deno-fmt-ignore

    // The two old containers (§1): names, mounts and networks as the original installer's.
    await sh(
      "docker", "run", "-d", "--name", agent, "--restart", "unless-stopped",
      "-e", "HOST_NAME=orchestrator_agent", "-v", `${mtls}:/root/.mtls:ro`,
      "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", `${volume}:/var/orchestrator`,
      OLD_IMAGE, "sleep", "infinity",
    ); // deno-fmt-ignore
    await sh("docker", "network", "connect", internal, agent);
    await sh(
      "docker",
      "run",
      "-d",
      "--name",
      netmon,
      "--network",
      "host",
      "--restart",
      "unless-stopped",
      "-v",
      `${volume}:/var/orchestrator`,
      OLD_IMAGE,
      "sleep",
      "infinity",
    ); // deno-fmt-ignore
    const oldIds = [await inspect(agent, "{{.Id}}"), await inspect(netmon, "{{.Id}}")];
    const runtimeState = () =>
      inspect(runtime, "{{.Id}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Running}}");
    const before = await runtimeState();
    assert.match(before, / 0 true$/);

    const out = await install(names, [
      "--server",
      `https://${gateway}:${cloud.port}`,
      "--provision-url",
      `https://127.0.0.1:${closedPort}`,
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
    ]); // deno-fmt-ignore
    assert.match(out, /found containers of another agent .*upgrading in place/, out);
    assert.match(out, new RegExp(`device certificate present in .* \\(device ${device}\\)`), out);
    assert.doesNotMatch(out, /enrolled/, out);
    assert.match(out, /agent connected to/, out);
    await cloud.waitForAgent(device, 30_000);

    // Both containers are ours now.
    const newIds = [await inspect(agent, "{{.Id}}"), await inspect(netmon, "{{.Id}}")];
    assert.notEqual(newIds[0], oldIds[0], "the old agent container is still there");
    assert.notEqual(newIds[1], oldIds[1], "the old netmon container is still there");
    assert.equal(
      await inspect(agent, '{{index .Config.Labels "io.edge-orchestrator.role"}}'),
      "agent",
    );
    assert.equal(
      await inspect(netmon, '{{index .Config.Labels "io.edge-orchestrator.role"}}'),
      "netmon",
    );
    assert.equal(await inspect(agent, "{{.Config.Image}}"), AGENT_IMAGE);
    assert.equal(await inspect(netmon, "{{.Config.Image}}"), NETMON_IMAGE);

    // The identity is the old one, byte for byte.
    assert.equal(await sha(`${mtls}/client.crt`), certBefore, "the certificate changed");
    assert.equal(await sha(`${mtls}/client.key`), keyBefore, "the key changed");

    // The runtime was never stopped or restarted, then or while the new agent ran.
    assert.equal(await runtimeState(), before, "the runtime was touched by the upgrade");
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    assert.equal(await runtimeState(), before, "the runtime was touched after the upgrade");
    assert.equal(
      await inspect(runtime, `{{(index .NetworkSettings.Networks "${macvlan}").IPAddress}}`),
      lan!.at(62),
    );

    // The volume keeps every old file; files other than runtime_vnics.json byte for byte (the
    // agent may rewrite that one when it adopts the runtime, keeping the runtime in it).
    const read = (path: string) =>
      sh(
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        `${volume}:/v:ro`,
        OLD_IMAGE,
        "cat",
        `/v/${path}`,
      ); // deno-fmt-ignore
    for (const [path, text] of Object.entries(old)) {
      const now = await read(path).catch((e) => `missing: ${e}`);
      if (path === "runtime_vnics.json") {
        assert.ok(runtime in JSON.parse(now), `runtime_vnics.json lost ${runtime}: ${now}`);
      } else if (path.startsWith("logs/")) {
        assert.ok(now.startsWith(text), `${path} lost its old lines: ${now.slice(0, 300)}`);
      } else {
        assert.equal(now, text, `${path} changed`);
      }
    }

    // The agent adopted the runtime (no labels of ours, found through the old agent's files):
    // every topic serves it.
    const send = (topic: string, payload: unknown) =>
      cloud.send(device, topic, payload, 30_000) as Promise<Record<string, unknown>>;
    const status = () => send("get_device_status", { device_id: runtime });
    const st = await status();
    assert.equal(st.status, "success", JSON.stringify(st));
    assert.equal(st.is_running, true);
    const nets = st.networks as Record<string, { ip_address: string; mac_address: string }>;
    assert.equal(nets[macvlan]?.ip_address, lan!.at(62), JSON.stringify(st));
    assert.equal(st.internal_ip, internalIp);
    const version = await send("run_command", {
      device_id: runtime,
      method: "GET",
      api: "/api/version",
    });
    assert.equal(version.status, "success", JSON.stringify(version));
    assert.equal(
      (await send("get_consumption_device", {
        device_id: runtime,
        cpuPeriod: "1h",
        memoryPeriod: "1h",
      })).device_id,
      runtime,
    );
    assert.equal(await runtimeState(), before, "adoption restarted the runtime");
    assert.equal(await inspect(runtime, "{{.HostConfig.RestartPolicy.Name}}"), "always");

    // The host's subnet on the parent moves: the static address no longer fits, so the runtime
    // is detached and says why; the LAN comes back: re-attached, same address and MAC.
    await sh("ip", "addr", "del", lan!.cidr(250), "dev", parentName);
    await sh("ip", "addr", "add", lan2!.cidr(250), "dev", parentName);
    const detached = await waitStatus(status, (x) => Array.isArray(x.network_problems));
    assert.equal((detached.network_problems as { code: string }[])[0]?.code, "ip_outside_subnet");
    await sh("ip", "addr", "del", lan2!.cidr(250), "dev", parentName);
    await sh("ip", "addr", "add", lan!.cidr(250), "dev", parentName);
    const back = await waitStatus(
      status,
      (x) =>
        (x.networks as Record<string, { ip_address: string }>)[macvlan]?.ip_address === lan!.at(62),
    );
    assert.equal(
      (back.networks as Record<string, { mac_address: string }>)[macvlan]?.mac_address,
      mac,
    );
    assert.equal(
      await inspect(runtime, "{{.Id}} {{.State.StartedAt}}"),
      before.split(" ").slice(0, 2).join(" "),
      "re-wiring restarted the runtime",
    );

    // Lifecycle commands work on it.
    assert.equal((await send("stop_device", { device_id: runtime })).container_status, "exited");
    assert.equal((await send("start_device", { device_id: runtime })).container_status, "running");

    // Uninstall names the runtime (known from the old agent's files) and leaves it running.
    const un = await install(names, ["--uninstall", "--mtls-dir", mtls]);
    assert.match(un, new RegExp(`runtime\\(s\\) of device ${device} keep running.*${runtime}`), un);
    assert.match(await runtimeState(), / true$/, "--uninstall stopped the runtime");
  } finally {
    await removeInstall(names);
    await sh("docker", "rm", "-f", runtime).catch(() => {});
    for (const net of [internal, macvlan]) await sh("docker", "network", "rm", net).catch(() => {});
    await cloud.stop();
    await parent.remove();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
