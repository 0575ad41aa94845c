/**
 * The device identity: client certificate + key from `--mtls-dir`, checked before any connection
 * so a bad certificate is a clear startup error naming the file, never a silent "UNKNOWN" id.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** A startup problem with the device certificate; `file` names the culprit. */
export class IdentityError extends Error {
  /** The file the problem is about. */
  readonly file: string;
  /** Creates the error. */
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "IdentityError";
    this.file = file;
  }
}

/** A loaded, checked identity. */
export interface Identity {
  /** CN of the certificate subject: the agent id. */
  agentId: string;
  /** PEM certificate. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** Certificate path. */
  certFile: string;
  /** Key path. */
  keyFile: string;
  /** End of validity. */
  notAfter: Date;
}

/**
 * X.509 version of a DER certificate (1, 2 or 3). Pure: reads only the first bytes of the
 * TBSCertificate, where the optional `[0] EXPLICIT Version` sits; its absence means v1.
 */
export function certVersion(der: Uint8Array): number {
  let i = 0;
  const skipHeader = (): void => {
    i++; // tag
    const len = der[i++]!;
    if (len & 0x80) i += len & 0x7f; // long form: the length's own bytes follow
  };
  skipHeader(); // Certificate SEQUENCE
  skipHeader(); // TBSCertificate SEQUENCE
  if (der[i] !== 0xa0) return 1;
  skipHeader(); // [0]
  // INTEGER: tag 0x02, length 1, value 0|1|2 for v1|v2|v3
  if (der[i] !== 0x02 || der[i + 1] !== 1) throw new SyntaxError("Malformed certificate version");
  return der[i + 2]! + 1;
}

/** The CN of an RFC 2253-ish subject string as node:crypto prints it (one `K=V` per line). */
export function commonName(subject: string): string | null {
  for (const line of subject.split("\n")) {
    const m = /^CN=(.*)$/.exec(line.trim());
    if (m && m[1]!.trim() !== "") return m[1]!.trim();
  }
  return null;
}

/** Checks a certificate against `now` (ms); throws {@linkcode IdentityError} naming `certFile`. */
export function checkCertificate(cert: X509Certificate, certFile: string, now: number): string {
  const version = certVersion(new Uint8Array(cert.raw));
  if (version !== 3) {
    throw new IdentityError(
      certFile,
      `certificate is X.509 v${version}; TLS here requires v3 (re-issue it with extensions)`,
    );
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now < from) {
    throw new IdentityError(certFile, `certificate is not valid before ${cert.validFrom}`);
  }
  if (now > to) throw new IdentityError(certFile, `certificate expired on ${cert.validTo}`);
  const cn = commonName(cert.subject);
  if (!cn) {
    throw new IdentityError(
      certFile,
      `certificate subject has no CN (subject: ${cert.subject.replaceAll("\n", ", ")})`,
    );
  }
  return cn;
}

async function readFile(file: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "file not found"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (err as Error).message;
    throw new IdentityError(file, `cannot read the ${what}: ${reason}`);
  }
}

/** Loads and checks `<dir>/client.crt` and `<dir>/client.key`. */
export async function loadIdentity(dir: string, now = Date.now()): Promise<Identity> {
  const certFile = `${dir}/client.crt`;
  const keyFile = `${dir}/client.key`;
  const certPem = await readFile(certFile, "client certificate");
  const keyPem = await readFile(keyFile, "client key");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new IdentityError(certFile, `not a PEM certificate: ${(err as Error).message}`);
  }
  const agentId = checkCertificate(cert, certFile, now);
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new IdentityError(keyFile, `not a usable private key: ${(err as Error).message}`);
  }
  if (!matches) {
    throw new IdentityError(keyFile, `private key does not match the certificate ${certFile}`);
  }
  return {
    agentId,
    cert: certPem,
    key: keyPem,
    certFile,
    keyFile,
    notAfter: new Date(cert.validTo),
  };
}
