/**
 * The device identity: client certificate + key from `--mtls-dir`, checked before any connection
 * so a bad certificate is a clear startup error naming the file, never a silent "UNKNOWN" id.
 *
 * @module
 */
import { type Certificate, commonName, nameText, parsePemCertificate, timeText } from "./x509.ts";

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

/** Checks a certificate against `now` (ms); throws {@linkcode IdentityError} naming `certFile`. */
export function checkCertificate(cert: Certificate, certFile: string, now: number): string {
  if (cert.version !== 3) {
    throw new IdentityError(
      certFile,
      `certificate is X.509 v${cert.version}; TLS here requires v3 (re-issue it with extensions)`,
    );
  }
  if (now < cert.notBefore.getTime()) {
    throw new IdentityError(
      certFile,
      `certificate is not valid before ${timeText(cert.notBefore)}`,
    );
  }
  if (now > cert.notAfter.getTime()) {
    throw new IdentityError(certFile, `certificate expired on ${timeText(cert.notAfter)}`);
  }
  const cn = commonName(cert.subject);
  if (!cn) {
    throw new IdentityError(
      certFile,
      `certificate subject has no CN (subject: ${nameText(cert.subject) || "empty"})`,
    );
  }
  return cn;
}

/** Why a certificate and key cannot be used together; see {@linkcode keyPairProblem}. */
export type KeyPairProblem =
  | { kind: "mismatch" }
  | { kind: "unusable"; reason: string };

/**
 * Asks Deno's TLS stack (rustls, the one the session connects with) whether `keyPem` is a key it
 * can use and belongs to `certPem`; null when it does. Building a client parses both and compares
 * the key's public half with the certificate's; it opens no connection and needs no permission.
 * A key rustls cannot load here (encrypted, DSA, RSA-PSS, Ed448, RSA below 2048 bits) could not
 * connect later either.
 */
export function keyPairProblem(certPem: string, keyPem: string): KeyPairProblem | null {
  let client: Deno.HttpClient | undefined;
  try {
    client = Deno.createHttpClient({ cert: certPem, key: keyPem });
    return null;
  } catch (err) {
    const reason = (err as Error).message;
    // rustls: "keys may not be consistent: KeyMismatch" (CertifiedKey::keys_match)
    return /\bKeyMismatch\b/.test(reason) ? { kind: "mismatch" } : { kind: "unusable", reason };
  } finally {
    client?.close();
  }
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

/**
 * Checks PEM texts as {@linkcode loadIdentity} does (file names only for the messages); throws
 * {@linkcode IdentityError} naming the file at fault.
 */
export function checkIdentity(
  files: { cert: string; key: string; certFile: string; keyFile: string },
  now: number,
): Identity {
  const { cert: certPem, key: keyPem, certFile, keyFile } = files;
  let cert: Certificate;
  try {
    cert = parsePemCertificate(certPem);
  } catch (err) {
    throw new IdentityError(certFile, `not a PEM certificate: ${(err as Error).message}`);
  }
  const agentId = checkCertificate(cert, certFile, now);
  const problem = keyPairProblem(certPem, keyPem);
  if (problem?.kind === "mismatch") {
    throw new IdentityError(keyFile, `private key does not match the certificate ${certFile}`);
  }
  if (problem) throw new IdentityError(keyFile, `not a usable private key: ${problem.reason}`);
  return { agentId, cert: certPem, key: keyPem, certFile, keyFile, notAfter: cert.notAfter };
}

/** Loads and checks `<dir>/client.crt` and `<dir>/client.key`. */
export async function loadIdentity(dir: string, now = Date.now()): Promise<Identity> {
  const certFile = `${dir}/client.crt`;
  const keyFile = `${dir}/client.key`;
  const cert = await readFile(certFile, "client certificate");
  const key = await readFile(keyFile, "client key");
  return checkIdentity({ cert, key, certFile, keyFile }, now);
}
