/**
 * The dev control plane's own PKI, driven through the `openssl` CLI: a CA, a server certificate
 * for localhost / 127.0.0.1, and device certificates (v3, CN = device id). Everything goes
 * through `openssl ca` so that tests can also make the bad certificates they need (expired, v1,
 * no CN) with the same code path.
 *
 * @module
 */

/** RSA key size by default: what production devices get. Tests pass 2048 (4x faster keygen). */
export const DEFAULT_BITS = 4096;

/** Files of a CA made by {@linkcode createCa}. */
export interface Ca {
  /** Directory holding the CA's files and its `openssl ca` database. */
  dir: string;
  /** PEM certificate of the CA. */
  certFile: string;
  /** PEM private key of the CA. */
  keyFile: string;
}

/** What {@linkcode issue} should make. */
export interface IssueOptions {
  /** Base name of the output files: `<out>.crt`, `<out>.key`. */
  out: string;
  /** Subject, e.g. `/O=Edge/CN=07048933`. */
  subject: string;
  /** `server` adds serverAuth + SANs, `client` clientAuth, `v1` no extensions at all. */
  kind: "server" | "client" | "v1";
  /** Subject alternative names for servers, e.g. `["DNS:localhost", "IP:127.0.0.1"]`. */
  sans?: string[];
  /** RSA bits of the new key. */
  bits?: number;
  /** Validity start, `YYYYMMDDHHMMSSZ`; now by default. */
  startDate?: string;
  /** Validity end, `YYYYMMDDHHMMSSZ`; 825 days from now by default (the CA/B server limit). */
  endDate?: string;
  /** Reuse this key file instead of making a new key. */
  keyFile?: string;
}

/** Files of an issued certificate. */
export interface Issued {
  /** PEM certificate. */
  certFile: string;
  /** PEM private key (mode 0600). */
  keyFile: string;
}

/** Runs openssl; throws with its stderr on failure. */
export async function openssl(args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`openssl ${args[0]} failed: ${err}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = dev
[ dev ]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = optional
organizationName = optional
organizationalUnitName = optional
countryName = optional
[ server_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \${ENV::DEVCLOUD_SANS}
[ client_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;
}

/** Loads the CA in `dir`, or creates it (v3, 10 years) when absent. */
export async function createCa(
  dir: string,
  opts: { bits?: number; name?: string } = {},
): Promise<Ca> {
  const ca: Ca = { dir, certFile: `${dir}/ca.crt`, keyFile: `${dir}/ca.key` };
  if (await exists(ca.certFile) && await exists(ca.keyFile)) return ca;
  await Deno.mkdir(`${dir}/issued`, { recursive: true });
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "1000\n");
  await Deno.writeTextFile(`${dir}/ca.cnf`, caConfig(dir));
  await openssl([
    "req",
    "-x509",
    "-newkey",
    `rsa:${opts.bits ?? DEFAULT_BITS}`,
    "-nodes",
    "-keyout",
    ca.keyFile,
    "-out",
    ca.certFile,
    "-days",
    "3650", // ten years: a dev CA outlives every device certificate it signs
    "-subj",
    `/O=edge-orchestrator devcloud/CN=${opts.name ?? "devcloud CA"}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await Deno.chmod(ca.keyFile, 0o600);
  return ca;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

/** Issues a certificate signed by `ca` (see {@linkcode IssueOptions}). */
export async function issue(ca: Ca, opts: IssueOptions): Promise<Issued> {
  const keyFile = opts.keyFile ?? `${opts.out}.key`;
  const certFile = `${opts.out}.crt`;
  const csr = `${opts.out}.csr`;
  const newKey = opts.keyFile === undefined;
  await openssl([
    "req",
    "-new",
    ...(newKey ? ["-newkey", `rsa:${opts.bits ?? DEFAULT_BITS}`, "-nodes", "-keyout", keyFile] : [
      "-key",
      keyFile,
    ]),
    "-out",
    csr,
    "-subj",
    opts.subject,
  ]);
  if (newKey) await Deno.chmod(keyFile, 0o600);
  await signCsr(ca, csr, certFile, opts);
  await Deno.remove(csr).catch(() => {});
  return { certFile, keyFile };
}

/** Signs the PEM CSR in `csrFile` into `certFile` with `ca` (`kind`, `sans`, dates as in issue). */
export async function signCsr(
  ca: Ca,
  csrFile: string,
  certFile: string,
  opts: Pick<IssueOptions, "kind" | "sans" | "startDate" | "endDate">,
): Promise<void> {
  const now = Date.now();
  const args = [
    "ca",
    "-batch",
    "-notext",
    "-preserveDN",
    "-config",
    `${ca.dir}/ca.cnf`,
    "-cert",
    ca.certFile,
    "-keyfile",
    ca.keyFile,
    "-in",
    csrFile,
    "-out",
    certFile,
    // Backdate by a minute so a freshly issued certificate is valid despite small clock skew.
    "-startdate",
    opts.startDate ?? stamp(new Date(now - 60_000)),
    "-enddate",
    opts.endDate ?? stamp(new Date(now + 825 * 86_400_000)),
  ];
  if (opts.kind !== "v1") args.push("-extensions", `${opts.kind}_ext`);
  const env = { DEVCLOUD_SANS: (opts.sans ?? ["DNS:localhost"]).join(",") };
  const out = await new Deno.Command("openssl", { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ca failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/**
 * Checks a PEM certificate request: its self-signature, and returns its subject's CN (null when
 * it has none). Throws a TypeError naming the problem when openssl cannot read or verify it.
 */
export async function csrCommonName(csrFile: string): Promise<string | null> {
  const out = await new Deno.Command("openssl", {
    args: ["req", "-in", csrFile, "-noout", "-verify", "-subject", "-nameopt", "multiline"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new TypeError(`Cannot read the certificate request: ${why}`);
  }
  const m = /^\s*commonName\s*=\s*(.+)$/m.exec(new TextDecoder().decode(out.stdout));
  return m ? m[1]!.trim() : null;
}

/** SANs every dev server certificate carries. */
export const DEFAULT_SERVER_SANS = ["DNS:localhost", "IP:127.0.0.1"];

/**
 * Turns host names and addresses into openssl SAN entries: `172.17.0.1` gives `IP:172.17.0.1`,
 * `host.docker.internal` gives `DNS:host.docker.internal`; entries already prefixed pass through.
 */
export function sanEntries(names: string[]): string[] {
  return names.map((n) =>
    /^(DNS|IP):/.test(n) ? n : /^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`
  );
}

/**
 * Issues a server certificate with these SANs (openssl form, see {@linkcode sanEntries});
 * localhost / 127.0.0.1 ({@linkcode DEFAULT_SERVER_SANS}) when none are given.
 */
export function issueServer(ca: Ca, out: string, bits?: number, sans?: string[]): Promise<Issued> {
  return issue(ca, {
    out,
    subject: "/O=edge-orchestrator devcloud/CN=localhost",
    kind: "server",
    sans: sans ?? DEFAULT_SERVER_SANS,
    bits,
  });
}

/**
 * Issues a device certificate into `<dir>/client.crt` + `client.key` (the layout of
 * `--mtls-dir`), CN = device id.
 */
export async function issueDevice(
  ca: Ca,
  id: string,
  dir: string,
  bits?: number,
): Promise<Issued> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new TypeError(`Invalid device id: "${id}"`);
  await Deno.mkdir(dir, { recursive: true });
  return await issue(ca, {
    out: `${dir}/client`,
    subject: `/O=edge-orchestrator/OU=Development/CN=${id}`,
    kind: "client",
    bits,
  });
}
