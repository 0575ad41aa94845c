/**
 * The installer's provisioning against replies shaped like the real cloud's, good and bad
 * (original-agent-reference.md §10), served over HTTPS by a stand-in of the provisioning API:
 * every bad reply, an unreachable URL, an untrusted server certificate and a plain-HTTP URL end
 * with exit 1 and ONE line of the installer's own, and leave nothing behind (no container, no
 * volume, no certificate directory). The dev control plane's real provisioning API is checked
 * too: a certificate for the CSR (client use, subject kept), and an enrolled id refused a second
 * time. Needs root and a Docker engine (the installer checks the engine before provisioning);
 * no image of ours is built: provisioning fails before any is used.
 */
import assert from "node:assert/strict";
import {
  type Ca,
  createCa,
  DEFAULT_SERVER_SANS,
  issueServer,
  signCsr,
} from "../scripts/devcloud/pki.ts";
import { Provisioner, serveProvisioning } from "../scripts/devcloud/provision.ts";
import { TEST_BITS } from "./cloud_helpers.ts";
import { ensureStandin, sh, skipReason, STANDIN } from "./docker_helpers.ts";
import { exists, removeInstall, runInstaller, uniqueNames } from "./docker_install_helpers.ts";

const skip = await skipReason();
if (skip) console.log(`docker_install_provision_test skipped: ${skip}`);

const ID = "31415926";
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const html = (status = 200) =>
  new Response("<html><body>502 Bad Gateway</body></html>", {
    status,
    headers: { "content-type": "text/html" },
  });
const GOOD_ID = () =>
  json({ data: { id: ID, expiresAt: "2026-04-10T12:15:00.000Z", expiresIn: 900 } });

/** Signs the request's CSR as a *server* certificate: valid, but not for client use. */
async function serverCertFor(ca: Ca, dir: string, req: Request): Promise<string> {
  const csr = await (await req.formData()).get("csr") as File;
  await Deno.writeTextFile(`${dir}/wrong.csr`, await csr.text());
  await signCsr(ca, `${dir}/wrong.csr`, `${dir}/wrong.crt`, { kind: "server" });
  return await Deno.readTextFile(`${dir}/wrong.crt`);
}

interface Case {
  name: string;
  id?: () => Response;
  enroll?: (req: Request) => Promise<Response> | Response;
  /** Installer arguments instead of the stand-in's URL and CA. */
  args?: (url: string, ca: string, closedPort: number) => string[];
  line: RegExp;
}

function cases(ca: Ca, dir: string): Case[] {
  return [
    {
      name: "plain HTTP provisioning URL",
      args: (
        url,
        caFile,
      ) => ["--provision-url", url.replace("https:", "http:"), "--server-ca", caFile],
      line: /the provisioning URL must be https:\/\//,
    },
    {
      name: "unreachable provisioning URL",
      args: (
        _u,
        caFile,
        port,
      ) => ["--provision-url", `https://127.0.0.1:${port}`, "--server-ca", caFile],
      line: /cannot connect to https:\/\/127\.0\.0\.1:\d+\/orchestrators\/id/,
    },
    {
      name: "server certificate not trusted (no --server-ca)",
      args: (url) => ["--provision-url", url],
      line:
        /presents a certificate this machine does not trust \(pass its CA with --server-ca FILE\)/,
    },
    {
      name: "id: HTTP 503",
      id: () => json({ statusCode: "503", message: "Service Unavailable" }, 503),
      line: /GET \S+\/orchestrators\/id answered HTTP 503 Service Unavailable/,
    },
    {
      name: "id: not JSON",
      id: () => html(),
      line: /orchestrators\/id answered something that is not JSON/,
    },
    {
      name: "id: data.id null",
      id: () => json({ data: { id: null, expiresAt: null, expiresIn: 0 } }),
      line: /gave no device id \(data\.id\)/,
    },
    {
      name: "id: an id that cannot be a subject",
      id: () => json({ data: { id: "1/CN=x", expiresAt: "x", expiresIn: 1 } }),
      line: /gave an unusable device id/,
    },
    {
      name: "enroll: HTTP 400",
      id: GOOD_ID,
      enroll: () => json({ statusCode: "400", message: "Invalid CSR" }, 400),
      line: /enrolment at \S+\/orchestrators\/enroll answered HTTP 400 Invalid CSR/,
    },
    {
      name: "enroll: HTTP 502 HTML from a proxy",
      id: GOOD_ID,
      enroll: () => html(502),
      line: /enrolment at \S+ answered HTTP 502/,
    },
    {
      name: "enroll: statusCode 500 in a 200",
      id: GOOD_ID,
      enroll: () => json({ statusCode: "500", message: "Internal server error" }),
      line: /enrolment refused \(statusCode 500\) Internal server error/,
    },
    {
      name: "enroll: no certificate",
      id: GOOD_ID,
      enroll: () => json({ statusCode: "200", data: { certificate: null, message: "ok", id: ID } }),
      line: /enrolment answered no certificate \(data\.certificate\)/,
    },
    {
      name: "enroll: not JSON",
      id: GOOD_ID,
      enroll: () => new Response("OK", { status: 200 }),
      line: /enrolment at \S+ answered something that is not JSON/,
    },
    {
      name: "enroll: a certificate that is not PEM",
      id: GOOD_ID,
      enroll: () =>
        json({ statusCode: "200", data: { certificate: "MIIB...", message: "", id: ID } }),
      line: /data\.certificate is not a PEM certificate/,
    },
    {
      name: "enroll: a certificate not for client use",
      id: GOOD_ID,
      enroll: async (req) =>
        json({
          statusCode: "200",
          data: { certificate: await serverCertFor(ca, dir, req), message: "", id: ID },
        }),
      line: /the certificate is not for client use/,
    },
  ];
}

Deno.test({
  name: "install.sh: every bad provisioning reply is one line of its own, and nothing is left",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await ensureStandin();
  const dir = await Deno.makeTempDir({ prefix: "eo-install-prov-" });
  const ca = await createCa(`${dir}/ca`, { bits: TEST_BITS });
  const server = await issueServer(ca, `${dir}/server`, TEST_BITS, DEFAULT_SERVER_SANS);
  let current: Case | null = null;
  const stub = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(server.certFile),
    key: await Deno.readTextFile(server.keyFile),
    onListen: () => {},
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/orchestrators/id" && current?.id) return current.id();
    if (path === "/orchestrators/enroll" && current?.enroll) return await current.enroll(req);
    return json({ statusCode: "404", message: "Not Found" }, 404);
  });
  const url = `https://localhost:${stub.addr.port}`;
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = closed.addr.port;
  closed.close();
  try {
    for (const c of cases(ca, dir)) {
      await t.step(c.name, async () => {
        current = c;
        const names = uniqueNames("eo-prov");
        const mtls = `${dir}/mtls-${names.ORCHESTRATOR_VOLUME}`;
        const args = c.args?.(url, ca.certFile, closedPort) ??
          ["--provision-url", url, "--server-ca", ca.certFile];
        try {
          const run = await runInstaller(names, [
            "--server",
            "https://localhost:1",
            ...args,
            "--agent-image",
            STANDIN,
            "--netmon-image",
            STANDIN,
            "--mtls-dir",
            mtls,
            "--timeout",
            "1",
          ]);
          assert.equal(run.code, 1, run.out);
          const lines = run.out.split("\n").filter((l) => l !== "");
          const errors = lines.filter((l) => l.startsWith("[install] error: "));
          assert.equal(errors.length, 1, `not one error line:\n${run.out}`);
          assert.match(errors[0]!, c.line);
          assert.deepEqual(
            lines.filter((l) => !l.startsWith("[install] ")),
            [],
            `foreign lines:\n${run.out}`,
          );
          for (const name of [names.ORCHESTRATOR_AGENT_NAME, names.ORCHESTRATOR_NETMON_NAME]) {
            assert.equal(await exists(name, "container"), false, `${name} left behind`);
          }
          assert.equal(
            await exists(names.ORCHESTRATOR_VOLUME, "volume"),
            false,
            "volume left behind",
          );
          assert.equal(
            await Deno.stat(mtls).then(() => true, () => false),
            false,
            `${mtls} left behind`,
          );
        } finally {
          await removeInstall(names);
        }
      });
    }
  } finally {
    await stub.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "devcloud provisioning: a client certificate for the CSR as sent; an enrolled id never again",
  ignore: skip !== null,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "eo-devcloud-prov-" });
  const ca = await createCa(`${dir}/ca`, { bits: TEST_BITS });
  const server = await issueServer(ca, `${dir}/server`, TEST_BITS, DEFAULT_SERVER_SANS);
  const p = new Provisioner(ca, `${dir}/work`);
  const listener = serveProvisioning(p, {
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(server.certFile),
    key: await Deno.readTextFile(server.keyFile),
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.certFile)] });
  const base = `https://localhost:${listener.addr.port}`;
  try {
    const { data } = await (await fetch(`${base}/orchestrators/id`, { client })).json();
    await sh("openssl", "genrsa", "-out", `${dir}/k.pem`, "2048");
    await sh(
      "openssl",
      "req",
      "-new",
      "-key",
      `${dir}/k.pem`,
      "-out",
      `${dir}/c.csr`,
      "-subj",
      `/C=BR/ST=SP/L=SaoPaulo/O=AutonomyLogic/OU=Production/CN=${data.id}`,
    ); // deno-fmt-ignore
    const enroll = async () => {
      const form = new FormData();
      form.set("csr", new File([await Deno.readTextFile(`${dir}/c.csr`)], "client.csr"));
      const res = await fetch(`${base}/orchestrators/enroll`, { method: "POST", body: form, client });
      return { status: res.status, body: await res.json() };
    };
    const first = await enroll();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.statusCode, "200");
    assert.equal(first.body.data.id, data.id);
    assert.equal(typeof first.body.data.message, "string");
    await Deno.writeTextFile(`${dir}/c.crt`, first.body.data.certificate);
    const purpose = await sh("openssl", "x509", "-in", `${dir}/c.crt`, "-noout", "-purpose");
    assert.match(purpose, /^SSL client : Yes$/m);
    const subject = await sh("openssl", "x509", "-in", `${dir}/c.crt`, "-noout", "-subject");
    assert.match(subject, new RegExp(`C ?= ?BR.*O ?= ?AutonomyLogic.*CN ?= ?${data.id}`));

    const again = await enroll();
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.statusCode, "409");
    assert.match(again.body.message, /already enrolled/);
  } finally {
    client.close();
    await listener.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("--help of the installer, the base image script and the control plane: usage, exit 0", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const runs: [string, string[], RegExp][] = [
    ["bash", [`${root}scripts/install.sh`, "--help"], /^Usage: install\.sh/],
    [
      "bash",
      [`${root}scripts/build_base_images.sh`, "--help"],
      /^Usage: scripts\/build_base_images/,
    ],
    [
      Deno.execPath(),
      [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-run=openssl",
        `${root}scripts/devcloud/main.ts`,
        "--help",
      ],
      /^deno task devcloud \[flags\]/,
    ],
  ]; // deno-fmt-ignore
  for (const [cmd, args, usage] of runs) {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    assert.match(text, usage);
    assert.doesNotMatch(text + new TextDecoder().decode(out.stderr), /\n\s+at /, "a stack trace");
  }
  // A bad command line: one line and exit 2.
  const bad = await new Deno.Command("bash", {
    args: [`${root}scripts/install.sh`, "--bogus"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(bad.code, 2);
  assert.equal(
    new TextDecoder().decode(bad.stderr),
    "[install] error: unknown option --bogus (see --help)\n",
  );
});
