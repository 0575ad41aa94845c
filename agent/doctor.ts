/**
 * `agent doctor`: checks what the agent needs, one verdict and one hint per check; exit 0 only
 * when all pass. The checks are independent: a missing certificate does not hide a dead Docker.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { silentLogger } from "./log.ts";
import { InterfaceCache, primarySubnet } from "./network/interface_cache.ts";
import { parseNetmonLine } from "./network/netmon_client.ts";
import {
  checkCertificate,
  IdentityError,
  keyPairProblem,
  loadIdentity,
} from "./session/identity.ts";
import { nameText, parsePemCertificate, timeText } from "./session/x509.ts";
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
    out.push(...certificateChecks({ cert: certPem, key: keyPem, certFile, keyFile }, Date.now()));
  }
  return out;
}

/**
 * The certificate's own check and, when the key could be read, whether the key belongs to it
 * (asked of Deno's TLS stack, as {@linkcode loadIdentity} does). Pure but for that question.
 */
export function certificateChecks(
  files: { cert: string; key: string | null; certFile: string; keyFile: string },
  now: number,
): CheckResult[] {
  const { certFile, keyFile } = files;
  try {
    const cert = parsePemCertificate(files.cert);
    const cn = checkCertificate(cert, certFile, now);
    const out: CheckResult[] = [{
      name: "certificate",
      ok: true,
      detail: `v3, CN=${cn}, valid until ${timeText(cert.notAfter)}`,
    }];
    if (files.key === null) return out;
    const problem = keyPairProblem(files.cert, files.key);
    out.push(
      problem === null
        ? { name: "key matches certificate", ok: true, detail: "yes" }
        : problem.kind === "mismatch"
        ? {
          name: "key matches certificate",
          ok: false,
          detail: `${keyFile} does not belong to ${certFile}`,
          hint: "install the key the certificate was issued for",
        }
        : {
          name: "key matches certificate",
          ok: false,
          detail: `${keyFile}: not a usable private key: ${problem.reason}`,
          hint: "install the certificate's key unencrypted as PEM (RSA of 2048 bits or more, " +
            "ECDSA or Ed25519)",
        },
    );
    return out;
  } catch (err) {
    const msg = err instanceof IdentityError
      ? err.message
      : `${certFile}: not a PEM certificate: ${(err as Error).message}`;
    return [{
      name: "certificate",
      ok: false,
      detail: msg,
      hint: "re-issue the device certificate (X.509 v3, CN = device id)",
    }];
  }
}

/** The server CA file, when one is configured: readable, and a PEM certificate (its subject). */
export async function checkServerCa(cfg: Pick<Config, "serverCa">): Promise<CheckResult> {
  if (!cfg.serverCa) return { name: "server CA", ok: true, detail: "system roots only" };
  let text: string;
  try {
    text = await readable(cfg.serverCa);
  } catch (err) {
    return {
      name: "server CA",
      ok: false,
      detail: (err as Error).message,
      hint: "point --server-ca at a PEM CA certificate",
    };
  }
  try {
    const cert = parsePemCertificate(text);
    return { name: "server CA", ok: true, detail: `${cfg.serverCa}: ${nameText(cert.subject)}` };
  } catch (err) {
    return {
      name: "server CA",
      ok: false,
      detail: `${cfg.serverCa}: not a PEM certificate: ${(err as Error).message}`,
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

/**
 * Both netmons send `network_discovery` right after accept; 3 s covers a loaded host. Without it
 * the agent's interface cache stays empty.
 */
const NETMON_DISCOVERY_MS = 3_000;
/** The original netmon reads commands only every ~1.1 s (reference §9.1): give it 2 s. */
const NETMON_REPLY_MS = 2_000;

/** Timeouts of {@linkcode checkNetmon} (tests shorten them). */
export interface NetmonCheckOptions {
  discoveryMs?: number;
  replyMs?: number;
}

/**
 * Reads netmon the way the agent does: the check passes only when a discovery fills an interface
 * cache with at least one interface; a socket that answers but leaves the cache empty fails (creates
 * without `parent_subnet` and re-wiring could not work). Then asks `get_status` to tell which
 * netmon answers (ours replies typed, the original Python one in its untyped shape).
 */
export async function checkNetmon(
  path: string,
  opts: NetmonCheckOptions = {},
): Promise<CheckResult> {
  const name = "netmon socket";
  const hint = "start the netmon container (it shares the state directory) or fix --netmon-socket";
  const discoveryMs = opts.discoveryMs ?? NETMON_DISCOVERY_MS;
  let conn: Deno.UnixConn;
  try {
    conn = await withTimeout(
      Deno.connect({ transport: "unix", path }),
      LOCAL_TIMEOUT_MS,
      "netmon",
    );
  } catch (err) {
    return { name, ok: false, detail: `${path}: ${(err as Error).message}`, hint };
  }
  const cache = new InterfaceCache();
  const skipped: string[] = [];
  let reply: "typed" | "plain" | null = null;
  let closed = false;
  let wake = () => {};
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of conn.readable) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const p = parseNetmonLine(line);
          if ("event" in p) cache.apply(p.event);
          else if ("reply" in p) reply ??= p.shape;
          else if ("skip" in p) skipped.push(p.skip);
        }
        wake();
      }
    } catch { /* closed below */ }
    closed = true;
    wake();
  })();
  const until = async (done: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!done() && !closed && Date.now() < end) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(0, end - Date.now()));
        wake = () => (clearTimeout(t), r());
      });
    }
  };
  try {
    await until(() => cache.synced, discoveryMs);
    const why = skipped.length
      ? ` (${skipped.length} line(s) unreadable, first: ${skipped[0]})`
      : "";
    const consequence = "the agent's interface cache stays empty: creates without parent_subnet " +
      "and re-wiring cannot work";
    if (!cache.synced) {
      return {
        name,
        ok: false,
        detail: `${path} answers but sent no network_discovery within ${discoveryMs} ms${why}: ` +
          consequence,
        hint: "restart netmon; if it persists, read its log (docker logs autonomy_netmon)",
      };
    }
    if (!cache.hasData()) {
      return {
        name,
        ok: false,
        detail: `${path} reported no usable interface (none UP outside lo, docker*, br-*, veth*, ` +
          `VPN and CNI links)${why}: ${consequence}`,
        hint: "bring up the LAN interface the runtimes attach to, then run doctor again",
      };
    }
    await conn.write(new TextEncoder().encode('{"command":"get_status","id":"doctor"}\n'));
    await until(() => reply !== null, opts.replyMs ?? NETMON_REPLY_MS);
    const who = reply === "typed"
      ? "netmon answers get_status"
      : reply === "plain"
      ? "the original (Python) netmon answers get_status in its own shape; the agent reads it"
      : "no answer to get_status (events still work)";
    const list = cache.list().map((i) => `${i.interface} ${primarySubnet(i) ?? "(no IPv4)"}`);
    return {
      name,
      ok: true,
      detail: `${path}: ${list.length} interface(s): ${list.join(", ")}; ${who}`,
    };
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
    await reading;
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
    checkNetmon(cfg.netmonSocket),
    checkCloud(cfg),
  ]);
  return [...files, ca, docker, netmon, cloud];
}
