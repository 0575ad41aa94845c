/**
 * run_command against the stand-in runtime, lifecycle, concurrency (10 parallel creates, busy
 * error) and agent restart (state from disk, then from Docker labels). Needs root and Docker.
 */
import assert from "node:assert/strict";
import { type CreateNewRuntime, TOPICS } from "../contracts/mod.ts";
import { deleteDevice } from "../agent/handlers/delete_device.ts";
import { runCommand } from "../agent/handlers/run_command.ts";
import { startDevice } from "../agent/handlers/start_device.ts";
import { stopDevice } from "../agent/handlers/stop_device.ts";
import { restartDevice } from "../agent/handlers/restart_device.ts";
import type { TestRuntimes } from "../tests/docker_helpers.ts";
import {
  createAndWait,
  ensureStandin,
  freeNets,
  linksInside,
  makeManager,
  makeParent,
  type Parent,
  realPort,
  sh,
  skipReason,
  stopManagers,
  sweep,
} from "./docker_helpers.ts";

const skip = await skipReason();
/** Host-side ranges: /24s that overlap no route or needed address (tests/README.md). */
const [NA] = await freeNets(1);
if (skip) console.log(`docker_ops_test skipped: ${skip}`);
const opts = { ignore: skip !== null, sanitizeOps: false, sanitizeResources: false };
const P = "eo5c";

function msg(name: string, vnics: unknown[] = []): CreateNewRuntime {
  return TOPICS.create_new_runtime.request.parse({ container_name: name, vnic_configs: vnics });
}

async function withLab(fn: (p: Parent, dir: string) => Promise<void>) {
  const docker = realPort();
  await ensureStandin();
  await sweep(docker);
  const dir = await Deno.makeTempDir({ prefix: "eo-docker-" });
  const parent = await makeParent(P, `${NA}.250/24`, `${NA}.0/24`);
  try {
    await fn(parent, dir);
  } finally {
    await stopManagers();
    await sweep(docker);
    await parent.remove();
    await Deno.remove(dir, { recursive: true });
  }
}

function cmd(m: TestRuntimes, device: string, fields: Record<string, unknown>) {
  return runCommand(
    { ...m.run, runtimes: m.runtimes, limits: { connectTimeoutMs: 1500, totalTimeoutMs: 3000 } },
    TOPICS.run_command.request.parse({ device_id: device, ...fields }),
  );
}

/** The stand-in takes a moment to listen after the container starts. */
async function waitForApi(m: TestRuntimes, device: string) {
  for (let i = 0; i < 50; i++) {
    const r = await cmd(m, device, { method: "GET", api: "/api/version" });
    if ((r.http_response as { status_code: number }).status_code === 200) return;
    await new Promise((r) => setTimeout(r, 100)); // 50 x 100 ms: Deno starts in well under 5 s
  }
  throw new Error(`runtime ${device} API never answered`);
}

Deno.test(
  "run_command: login, status/start/stop round trip, refusals, timeout",
  opts,
  () =>
    withLab(async (parent, dir) => {
      const m = await makeManager(dir, [parent]);
      assert.equal((await createAndWait(m, msg("plc-api"))).status, "success");
      await waitForApi(m, "plc-api");
      let r = await cmd(m, "plc-api", {
        method: "POST",
        api: "/api/create-user",
        data: { username: "admin", password: "pw" },
      });
      assert.equal((r.http_response as { status_code: number }).status_code, 201);
      r = await cmd(m, "plc-api", {
        method: "POST",
        api: "/api/login",
        data: { username: "admin", password: "pw" },
      });
      assert.equal(r.status, "success");
      const login = r.http_response as { ok: boolean; body: { access_token: string } };
      assert.ok(login.ok);
      const auth = { Authorization: `Bearer ${login.body.access_token}` };
      const get = async (api: string) =>
        ((await cmd(m, "plc-api", { method: "GET", api, headers: auth })).http_response as {
          body: { status: string };
        }).body.status;
      assert.equal(await get("/api/ping"), "PING:OK");
      assert.equal(await get("/api/status"), "STATUS:STOPPED");
      assert.equal(await get("/api/start-plc"), "START:OK");
      assert.equal(await get("/api/status"), "STATUS:RUNNING");
      assert.equal(await get("/api/stop-plc"), "STOP:OK");
      assert.equal(await get("/api/status"), "STATUS:STOPPED");
      r = await cmd(m, "plc-api", {
        method: "POST",
        api: "/api/upload-file",
        headers: auth,
        files: { file: { filename: "prog.st", content_base64: btoa("PROGRAM x END_PROGRAM") } },
      });
      assert.equal((r.http_response as { body: { size: number } }).body.size, 21);
      // The certificate got pinned on first use.
      assert.match(m.engine.desired.fingerprint("plc-api") ?? "", /^([0-9A-F]{2}:){31}/);

      // Refusals: another port, a path that leaves the runtime, an unknown device.
      r = await cmd(m, "plc-api", { method: "GET", api: "/api/ping", port: 22 });
      assert.match(String(r.error), /Port 22 is not allowed/);
      // A path that looks like another host stays a path on this runtime (the original joins
      // base URL and api the same way): the stand-in itself answers it.
      r = await cmd(m, "plc-api", { method: "GET", api: `//${NA}.9/x` });
      const away = r.http_response as { status_code: number; headers: Record<string, string> };
      assert.equal(away.status_code, 401, JSON.stringify(r)); // the runtime wants a token
      assert.ok(
        Object.keys(away.headers).some((h) => h.toLowerCase() === "x-openplc-runtime-version"),
        "answered by the runtime, not another host",
      );
      r = await cmd(m, "nope", { method: "GET", api: "/api/ping" });
      assert.deepEqual(r, { status: "error", error: "Device not found: nope" });
      // A changed certificate is refused.
      await m.commands.pin("plc-api", "AA:BB");
      r = await cmd(m, "plc-api", { method: "GET", api: "/api/version" });
      // A transport failure is the original's 500 answer, the reason in body.error (ref. §4.5).
      const bodyError = (x: Record<string, unknown>) =>
        String((x.http_response as { body: { error?: string } }).body.error);
      assert.equal((r.http_response as { status_code: number }).status_code, 500);
      assert.match(bodyError(r), /TLS certificate of runtime plc-api changed/);
      await m.commands.pin("plc-api", undefined);

      // A runtime that never answers (frozen) times out with status 500.
      await sh("docker", "pause", "plc-api");
      const t0 = performance.now();
      r = await cmd(m, "plc-api", { method: "GET", api: "/api/version" });
      await sh("docker", "unpause", "plc-api");
      assert.equal((r.http_response as { status_code: number }).status_code, 500);
      assert.match(bodyError(r), /timed out after 1500 ms/);
      assert.ok(performance.now() - t0 < 5000);
    }),
);

Deno.test(
  "start/stop/restart are real, idempotent and remembered across agent restarts",
  opts,
  () =>
    withLab(async (parent, dir) => {
      const m = await makeManager(dir, [parent]);
      await createAndWait(
        m,
        msg("plc-life", [{ name: "eth0", parent_interface: P, network_mode: "dhcp" }]),
      );
      const mac = m.vnics("plc-life")![0]!.mac_address;
      let a = await stopDevice(m, { device_id: "plc-life" });
      assert.deepEqual(a, {
        status: "success",
        device_id: "plc-life",
        success: true,
        container_status: "exited",
      });
      a = await stopDevice(m, { device_id: "plc-life" });
      assert.equal(a.container_status, "exited");
      assert.deepEqual(await startDevice(m, { device_id: "ghost" }), {
        status: "error",
        error: "Device not found: ghost",
      });

      // A new manager on the same state dir: the stop intent holds even though Docker restarted it.
      await sh("docker", "start", "plc-life");
      const m2 = await makeManager(dir, [parent]);
      assert.equal((await m2.status("plc-life")).is_running, false);
      assert.equal(m2.vnics("plc-life")![0]!.mac_address, mac);
      a = await startDevice(m2, { device_id: "plc-life" });
      assert.equal(a.container_status, "running");
      a = await restartDevice(m2, { device_id: "plc-life" });
      assert.equal(a.container_status, "running");
      const internal = m2.internalIp("plc-life");
      assert.ok(internal);

      // State files gone (one unreadable): rebuilt from Docker labels, the bad file kept aside.
      await Deno.remove(`${dir}/runtimes.json`);
      await Deno.writeTextFile(`${dir}/runtime_vnics.json`, "{ torn");
      const m3 = await makeManager(dir, [parent]);
      assert.equal(m3.internalIp("plc-life"), internal);
      assert.equal(m3.vnics("plc-life")![0]!.mac_address, mac);
      assert.equal(m3.engine.desired.get("plc-life")?.running, true);
      const aside = [...Deno.readDirSync(dir)].filter((e) =>
        e.name.startsWith("runtime_vnics.json.unreadable-")
      );
      assert.equal(aside.length, 1);
      const info = await m3.docker.inspectContainer("plc-life");
      assert.ok(Object.values(await linksInside(info!.pid)).includes(mac));
      await stopDevice(m3, { device_id: "plc-life" });
      await Deno.remove(`${dir}/runtimes.json`);
      const m4 = await makeManager(dir, [parent]);
      assert.equal(
        m4.engine.desired.get("plc-life")?.running,
        false,
        "stopped runtime stays stopped",
      );
    }),
);

Deno.test(
  "10 runtimes created in parallel; a delete during a create gets the busy error",
  opts,
  () =>
    withLab(async (parent, dir) => {
      const m = await makeManager(dir, [parent]);
      const names = Array.from({ length: 10 }, (_, i) => `plc-par-${i}`);
      for (const n of names) {
        m.create(msg(n, [{ name: "eth0", parent_interface: P, network_mode: "dhcp" }]));
      }
      const busy = await deleteDevice(m, { device_id: "plc-par-3" });
      assert.deepEqual(busy, {
        status: "error",
        error: "Container plc-par-3 already has a create operation in progress",
      });
      assert.equal((await m.status("plc-par-3")).status, "creating");
      await m.settle();
      const macs = new Set<string>();
      for (const n of names) {
        const st = await m.status(n);
        assert.equal(st.status, "success", JSON.stringify(st));
        assert.equal(st.is_running, true);
        macs.add(m.vnics(n)![0]!.mac_address);
      }
      assert.equal(macs.size, 10);
      const net = await m.docker.inspectNetwork(`macvlan_${P}_${NA}.0_24`);
      assert.equal(net?.containers.length, 10, "one shared MACVLAN network");
      for (const n of names) m.delete(n);
      await m.settle();
      assert.equal(await m.docker.inspectNetwork(`macvlan_${P}_${NA}.0_24`), null);
      assert.deepEqual(m.names(), []);
    }),
);
