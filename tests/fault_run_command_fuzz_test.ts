/**
 * Fault tier, `run_command` against a registered runtime (issue 14): the real agent, the real
 * Socket.IO session of the dev control plane, a stand-in runtime container created through the
 * cloud. 10,000 seeded messages with random and hostile headers, params, bodies, files, methods
 * and paths: every one is acked, the agent stays up, and a valid command still works afterwards.
 * The full-disk pin case: the state directory is a small tmpfs filled to the last byte when the
 * first certificate is pinned; the ack is an error naming the pin, the agent stays up, and once
 * space is back the next command pins and succeeds.
 */
import assert from "node:assert/strict";
import { ensureStandin, sh, skipReason, STANDIN } from "./docker_helpers.ts";
import { quietCloud, startAgent } from "./cloud_helpers.ts";
import { eventually, SEED, seeded } from "./fault_common.ts";

const skip = await skipReason();
if (skip) console.log(`fault_run_command_fuzz_test: skipped: ${skip}`);

/** Messages (issue 14: 10,000); FAULT_FUZZ_N lowers it for a quick local run. */
const TOTAL = Number(Deno.env.get("FAULT_FUZZ_N") ?? 10_000);
/** In flight at once: keeps the link and the runtime busy, acks well within the 60 s send timeout. */
const BATCH = 250;

/** A seeded generator of hostile run_command payloads for `device`. */
function generator(random: () => number, device: string) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (n: number) => Math.floor(random() * n);
  const chars = (n: number, max: number) =>
    String.fromCharCode(...Array.from({ length: n }, () => int(max)));
  const text = (): string =>
    pick([
      () => "ok",
      () => "a\r\nInjected: 1",
      () => "\u0000\u001b[31m",
      () => "\u2603\u{1F600}",
      () => chars(int(20), 0x100),
      () => chars(int(20), 0xd7ff),
      () => "x".repeat(int(9000)),
      () => "",
      () => " leading and trailing ",
      () => "caf\u00e9",
    ])();
  const headerName = (): string =>
    pick([
      () => "Authorization",
      () => "X-Custom",
      () => "Content-Type",
      () => "content-length",
      () => "Host",
      () => "Transfer-Encoding",
      () => "Bad Name",
      () => "X:Colon",
      () => "",
      () => "\r\n",
      () => chars(1 + int(12), 0x80),
      () => "X-\u00e9",
    ])();
  const headerValue = (): string =>
    pick([
      () => "Bearer t",
      () => "application/json",
      () => "application/x-www-form-urlencoded",
      () => "text/plain",
      () => "multipart/form-data",
      () => "chunked",
      () => "99999",
      text,
    ])();
  const value = (depth: number): unknown => {
    const r = random();
    if (r < 0.35) return text();
    if (r < 0.5) return pick([0, -1, 1.5, 1e308, 2 ** 53, Number.MAX_SAFE_INTEGER]);
    if (r < 0.6) return pick([true, false, null]);
    if (depth > 2) return text();
    if (r < 0.8) return Array.from({ length: int(4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: int(4) }, () => [text(), value(depth + 1)]));
  };
  const b64 = () =>
    pick([
      () => btoa(chars(int(300), 0x100)),
      () => "",
      () => "not base64!",
      () => "QUJD",
      () => btoa("x".repeat(int(100_000))),
    ])();
  // Half the messages are valid in form, so that the hostile bodies, files and params reach the
  // runtime through the HTTP path; the other half probe validation.
  const validName = () => pick(["Authorization", "X-Custom", "Content-Type", "Accept", "X-\u0021"]);
  const validValue = () =>
    pick(["Bearer t", "application/json", "text/plain", "application/x-www-form-urlencoded"]);
  return (): Record<string, unknown> => {
    if (random() < 0.5) {
      const m: Record<string, unknown> = {
        device_id: device,
        method: pick(["GET", "POST", "PUT", "DELETE"]),
        api: pick(["/api/status", "api/status", "/api/login", "/api/x?q=1", "/\u00e9", "//a/b"]),
        headers: Object.fromEntries(
          Array.from({ length: int(4) }, () => [validName(), validValue()]),
        ),
      };
      if (random() < 0.5) m.data = value(0);
      if (random() < 0.4) m.params = Object.fromEntries([[text(), value(3)]]);
      if (random() < 0.3) {
        m.files = {
          [text()]: {
            filename: pick(["p.st", "", '"\r\n']),
            content_base64: pick(["", "QUJD", btoa(chars(int(2000), 0x100))]),
          },
        };
      }
      return m;
    }
    const m: Record<string, unknown> = {
      device_id: random() < 0.95 ? device : pick(["", "eofz-none", "../x", device + "x"]),
      method: pick(["GET", "POST", "PUT", "DELETE", "get", "PATCH", "", "G ET", "OPTIONS", 7]),
      api: pick([
        "/api/status",
        "api/status",
        "/api/login",
        "//evil.example/x",
        "debug",
        "",
        "/a b",
        "/../etc/passwd",
        "/#frag",
        "/\u00e9\u2603",
        "/api/x?q=1",
        "/" + "p".repeat(3000),
        "\\\\host\\share",
        "/a\r\nX: 1",
      ]),
    };
    if (random() < 0.1) m.port = pick([8443, 80, 0, 65536, -1, "8443", 22]);
    if (random() < 0.6) {
      m.headers = random() < 0.1
        ? value(0)
        : Object.fromEntries(Array.from({ length: int(5) }, () => [headerName(), headerValue()]));
    }
    if (random() < 0.4) {
      m.params = random() < 0.1
        ? value(0)
        : Object.fromEntries(Array.from({ length: int(4) }, () => [text(), value(3)]));
    }
    if (random() < 0.5) m.data = value(0);
    if (random() < 0.25) {
      m.files = random() < 0.1 ? value(0) : Object.fromEntries(
        Array.from({ length: 1 + int(3) }, () => [text(), {
          filename: pick(["prog.st", "", "../../x", 'a"\r\nb', text()]),
          content_base64: b64(),
          ...(random() < 0.5 ? { content_type: headerValue() } : {}),
        }]),
      );
    }
    if (random() < 0.05) m.correlation_id = pick([1, -1, 1.5, "x", null]);
    return m;
  };
}

async function mountTmpfs(path: string, size: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
  await sh("mount", "-t", "tmpfs", "-o", `size=${size},mode=0755`, "eo-fuzz-state", path);
}

/** Fills the filesystem of `path` to the last byte; returns the filler's path. */
async function fill(path: string): Promise<string> {
  const filler = `${path}/.filler`;
  const f = await Deno.open(filler, { write: true, create: true });
  const chunk = new Uint8Array(1 << 20);
  try {
    for (;;) await f.write(chunk);
  } catch { /* ENOSPC: full */ }
  try {
    for (;;) await f.write(chunk.subarray(0, 512));
  } catch { /* the last blocks too */ }
  f.close();
  return filler;
}

Deno.test({
  name: "run_command fuzz against a registered stand-in runtime; full disk at the pin",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    console.log(`  fault_run_command seed ${SEED} (replay: FAULT_SEED=${SEED})`);
    await ensureStandin();
    const dir = await Deno.makeTempDir({ prefix: "eo-frc-" });
    const state = `${dir}/state`;
    // 64 MiB: room for the agent's state and logs; small enough to fill in a moment.
    await mountTmpfs(state, "64m");
    const cloud = await quietCloud(`${dir}/cloud`);
    const mtlsDir = await cloud.issueDevice("rcfuzz-agent");
    const name = `eofz-rc-${Math.floor(Math.random() * 1e6).toString(36)}`;
    const agent = startAgent({
      url: cloud.url,
      mtlsDir,
      serverCa: cloud.caFile,
      stateDir: state,
      extra: ["--runtime-image", STANDIN, "--netmon-socket", `${dir}/no-netmon.sock`],
    });
    const send = (payload: unknown, ms = 60_000) =>
      cloud.send("rcfuzz-agent", "run_command", payload, ms) as Promise<Record<string, unknown>>;
    const alive = async () =>
      assert.equal(await Promise.race([agent.status, Promise.resolve("running")]), "running");
    try {
      await cloud.waitForAgent("rcfuzz-agent", 60_000);
      const created = await cloud.send("rcfuzz-agent", "create_new_runtime", {
        container_name: name,
        vnic_configs: [],
      }) as Record<string, unknown>;
      assert.equal(created.status, "creating", JSON.stringify(created));
      await eventually(
        async () => {
          const s = await cloud.send("rcfuzz-agent", "get_device_status", { device_id: name }) as {
            is_running?: boolean;
            internal_ip?: string;
          };
          assert.ok(s.is_running && s.internal_ip, JSON.stringify(s));
        },
        120_000,
        500,
      );

      await t.step(
        "full disk when the first certificate is pinned: error ack, agent up",
        async () => {
          // The runtime's API must answer before the disk is filled (it starts after the container).
          await eventually(
            async () => {
              const s = await cloud.send("rcfuzz-agent", "get_device_status", {
                device_id: name,
              }) as {
                internal_ip?: string;
              };
              const c = await Deno.connect({ hostname: s.internal_ip!, port: 8443 });
              c.close();
            },
            60_000,
            500,
          );
          const filler = await fill(state);
          try {
            const ack = await send({ device_id: name, method: "GET", api: "/api/status" });
            assert.equal(ack.status, "error", JSON.stringify(ack));
            assert.match(JSON.stringify(ack), /Cannot pin the certificate/);
            await alive();
          } finally {
            await Deno.remove(filler);
          }
          const ok = await send({ device_id: name, method: "GET", api: "api/status" });
          assert.ok(ok.http_response, JSON.stringify(ok));
          const http = ok.http_response as { status_code: number; content_type: string };
          assert.ok(http.status_code > 0 && http.status_code !== 500, JSON.stringify(ok));
        },
      );

      await t.step(`${TOTAL} hostile run_command messages: every one acked, agent up`, async () => {
        const gen = generator(seeded(SEED + 11), name);
        const t0 = performance.now();
        const counts: Record<string, number> = {};
        for (let i = 0; i < TOTAL; i += BATCH) {
          const n = Math.min(BATCH, TOTAL - i);
          const acks = await Promise.all(Array.from({ length: n }, () => send(gen())));
          for (const a of acks) {
            assert.equal(a.action, "run_command", JSON.stringify(a).slice(0, 200));
            assert.ok(a.status === "success" || a.status === "error", JSON.stringify(a));
            const key = a.http_response
              ? `http_${(a.http_response as { status_code: number }).status_code}`
              : String(a.error).split(":")[0]!.slice(0, 40);
            counts[key] = (counts[key] ?? 0) + 1;
          }
        }
        console.log(
          `  ${TOTAL} acked in ${Math.round(performance.now() - t0)} ms: ${JSON.stringify(counts)}`,
        );
        await alive();
        assert.doesNotMatch(agent.output(), /Uncaught|Unhandled promise rejection/);
        const after = await send({
          device_id: name,
          method: "GET",
          api: "/api/status",
          headers: { "X-Case-Kept": "1" },
        });
        assert.ok(after.http_response, JSON.stringify(after));
        const http = after.http_response as { status_code: number };
        assert.notEqual(http.status_code, 500, JSON.stringify(after));
      });
    } finally {
      await cloud.send("rcfuzz-agent", "delete_device", { device_id: name }).catch(() => {});
      await eventually(
        async () => {
          const s = await cloud.send("rcfuzz-agent", "get_device_status", { device_id: name }) as {
            status?: string;
          };
          assert.equal(s.status, "not_found");
        },
        60_000,
        500,
      ).catch(() => {});
      agent.kill("SIGTERM");
      await agent.status;
      await cloud.stop();
      await sh("docker", "rm", "-f", name).catch(() => "");
      await sh("docker", "network", "rm", `${name}_internal`).catch(() => "");
      await sh("umount", state).catch(() => "");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
