/**
 * `agent doctor`: checks what the agent needs, one verdict and one hint per check; exit 0 only
 * when all pass. The checks are independent: a missing certificate does not hide a dead Docker.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Config } from "./config.ts";
import { silentLogger } from "./log.ts";
import { checkCertificate, IdentityError, loadIdentity } from "./session/identity.ts";
import { socketIoSession } from "./session/socketio.ts";

/** Outcome of one check. */
export interface CheckResult {
  /** Short name. */
  name: string;
  /** Verdict. */
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do when it failed. */
  hint?: string;
}

/** Socket checks give up after 3 s: a local daemon that needs longer is not healthy. */
const LOCAL_TIMEOUT_MS = 3_000;
/** The cloud gets 15 s: a TLS handshake over a slow uplink plus Socket.IO's open. */
const CLOUD_TIMEOUT_MS = 15_000;

/** Formats the report. Pure. */
export function formatReport(results: CheckResult[]): string {
  const lines = results.map((r) =>
    `${r.ok ? "PASS" : "FAIL"}  ${r.name.padEnd(22)} ${r.detail}` +
    (r.ok || !r.hint ? "" : `\n      hint: ${r.hint}`)
  );
  const failed = results.filter((r) => !r.ok).length;
  lines.push(failed === 0 ? "All checks passed" : `${failed} of ${results.length} checks failed`);
  return lines.join("\n");
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function readable(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    throw new Error(
      err instanceof Deno.errors.NotFound
        ? `${file} not found`
        : `${file}: ${(err as Error).message}`,
    );
  }
}

async function checkFiles(cfg: Config): Promise<CheckResult[]> {
  const certFile = `${cfg.mtlsDir}/client.crt`;
  const keyFile = `${cfg.mtlsDir}/client.key`;
  const out: CheckResult[] = [];
  let certPem: string | null = null;
  let keyPem: string | null = null;
  try {
    certPem = await readable(certFile);
    keyPem = await readable(keyFile);
    out.push({ name: "certificate files", ok: true, detail: `${certFile}, ${keyFile} readable` });
  } catch (err) {
    out.push({
      name: "certificate files",
      ok: false,
      detail: (err as Error).message,
      hint: "install the device certificate (client.crt, client.key) or point --mtls-dir at it",
    });
  }
  try {
    const mode = (await Deno.stat(keyFile)).mode ?? 0;
    const ok = (mode & 0o077) === 0;
    out.push({
      name: "key permissions",
      ok,
      detail: `${keyFile} mode ${(mode & 0o777).toString(8).padStart(3, "0")}`,
      ...(ok ? {} : { hint: `chmod 600 ${keyFile}` }),
    });
  } catch (err) {
    out.push({
      name: "key permissions",
      ok: false,
      detail: (err as Error).message,
      hint: "see above",
    });
  }
  if (certPem !== null) {
    try {
      const cert = new X509Certificate(certPem);
      const cn = checkCertificate(cert, certFile, Date.now());
      out.push({
        name: "certificate",
        ok: true,
        detail: `v3, CN=${cn}, valid until ${cert.validTo}`,
      });
      if (keyPem !== null) {
        const match = cert.checkPrivateKey(createPrivateKey(keyPem));
        out.push({
          name: "key matches certificate",
          ok: match,
          detail: match ? "yes" : `${keyFile} does not belong to ${certFile}`,
          ...(match ? {} : { hint: "install the key the certificate was issued for" }),
        });
      }
    } catch (err) {
      const msg = err instanceof IdentityError
        ? err.message
        : `${certFile}: ${(err as Error).message}`;
      out.push({
        name: "certificate",
        ok: false,
        detail: msg,
        hint: "re-issue the device certificate (X.509 v3, CN = device id)",
      });
    }
  }
  return out;
}

async function checkServerCa(cfg: Config): Promise<CheckResult> {
  if (!cfg.serverCa) return { name: "server CA", ok: true, detail: "system roots only" };
  try {
    const cert = new X509Certificate(await readable(cfg.serverCa));
    return {
      name: "server CA",
      ok: true,
      detail: `${cfg.serverCa}: ${cert.subject.replaceAll("\n", ", ")}`,
    };
  } catch (err) {
    return {
      name: "server CA",
      ok: false,
      detail: (err as Error).message,
      hint: "point --server-ca at a PEM CA certificate",
    };
  }
}

async function firstBytes(
  path: string,
  request: string | null,
  until: (s: string) => boolean,
): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    if (request) await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(4096);
    let text = "";
    while (!until(text)) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

async function checkDocker(cfg: Config): Promise<CheckResult> {
  try {
    const reply = await withTimeout(
      firstBytes(
        cfg.dockerSocket,
        "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n",
        (s) => s.includes("\r\n\r\n") && /OK\s*$/.test(s),
      ),
      LOCAL_TIMEOUT_MS,
      "Docker",
    );
    const ok = /^HTTP\/1\.[01] 200/.test(reply);
    return {
      name: "docker socket",
      ok,
      detail: ok
        ? `${cfg.dockerSocket} answers /_ping`
        : `${cfg.dockerSocket}: ${reply.split("\r\n")[0]}`,
      hint: "start the Docker engine or fix --docker-socket",
    };
  } catch (err) {
    return {
      name: "docker socket",
      ok: false,
      detail: `${cfg.dockerSocket}: ${(err as Error).message}`,
      hint: "start the Docker engine or fix --docker-socket",
    };
  }
}

async function checkNetmon(cfg: Config): Promise<CheckResult> {
  const hint = "start the netmon container (it shares the state directory) or fix --netmon-socket";
  try {
    const text = await withTimeout(
      firstBytes(cfg.netmonSocket, null, (s) => s.includes("\n")),
      LOCAL_TIMEOUT_MS,
      "netmon",
    );
    const event = JSON.parse(text.split("\n")[0]!);
    return {
      name: "netmon socket",
      ok: typeof event?.type === "string",
      detail: `${cfg.netmonSocket} sent ${event?.type ?? "no event"}`,
      hint,
    };
  } catch (err) {
    return {
      name: "netmon socket",
      ok: false,
      detail: `${cfg.netmonSocket}: ${(err as Error).message}`,
      hint,
    };
  }
}

async function checkCloud(cfg: Config): Promise<CheckResult> {
  const hint = "check --server-url, the network, --server-ca, and that this device is registered";
  try {
    const identity = await loadIdentity(cfg.mtlsDir);
    const serverCa = cfg.serverCa ? await Deno.readTextFile(cfg.serverCa) : undefined;
    let fail: (e: Error) => void = () => {};
    let pass: () => void = () => {};
    const outcome = new Promise<void>((res, rej) => {
      pass = res;
      fail = rej;
    });
    const session = socketIoSession({
      url: cfg.serverUrl,
      identity,
      ...(serverCa ? { serverCa } : {}),
      log: { ...silentLogger, warn: (m) => fail(new Error(m)) },
    });
    session.onState((up) => up && pass());
    session.start();
    try {
      await withTimeout(outcome, CLOUD_TIMEOUT_MS, "the cloud");
    } finally {
      await session.close();
    }
    return { name: "cloud", ok: true, detail: `${cfg.serverUrl} accepted ${identity.agentId}` };
  } catch (err) {
    return { name: "cloud", ok: false, detail: (err as Error).message, hint };
  }
}

/** Runs every check; returns the results in a fixed order. */
export async function runDoctor(cfg: Config): Promise<CheckResult[]> {
  const [files, ca, docker, netmon, cloud] = await Promise.all([
    checkFiles(cfg),
    checkServerCa(cfg),
    checkDocker(cfg),
    checkNetmon(cfg),
    checkCloud(cfg),
  ]);
  return [...files, ca, docker, netmon, cloud];
}
