/**
 * Provisioning endpoints of the dev control plane, speaking what the real cloud speaks to the
 * installer (original-agent-reference.md §10):
 *
 * - `GET /orchestrators/id` gives `{"data": {"id", "expiresAt", "expiresIn"}}`: a new device id
 *   (8 random digits), never handed out twice, to be enrolled before `expiresAt` (ISO 8601;
 *   `expiresIn` is the same in seconds);
 * - `POST /orchestrators/enroll`, a `multipart/form-data` body with the PEM certificate request
 *   as the file in field `csr` (`curl -F csr=@client.csr`), gives
 *   `{"statusCode": "200", "data": {"certificate", "message", "id"}}`: a v3 client certificate
 *   (`extendedKeyUsage = clientAuth`) for the CSR's subject, signed by the devcloud CA. The id is
 *   the CSR's CN, as the real cloud reads it.
 *
 * Refusals are `{"statusCode": "<http status>", "message"}` with that HTTP status: a body that is
 * not multipart or has no `csr`, an unreadable CSR (400), a CN never handed out or expired (404),
 * an id already enrolled (409: an enrolled id cannot be enrolled again, whoever asks).
 *
 * They are served on their own HTTPS listener (`provisionPort`), not on the Socket.IO one: a
 * device asking for its first certificate has none to present, and the Socket.IO listener keeps
 * refusing every TLS handshake without a client certificate (no per-route exceptions to get
 * wrong). Clients verify the server against the devcloud CA (`curl --cacert ca.crt`).
 *
 * @module
 */
import { type Ca, csrCommonName, signCsr } from "./pki.ts";

/** An id must be enrolled within 15 minutes: long enough to run the installer, short enough
 * that a leaked, never-used id is soon worthless. */
export const ID_TTL_S = 15 * 60;
/** A CSR of a 4096-bit key is about 1.7 KB; 64 KiB refuses junk without reading it all. */
const MAX_BODY_BYTES = 64 * 1024;

/** A refusal, answered with `status` and `{statusCode, message}`. */
export class ProvisionError extends Error {
  /** `status` is the HTTP status. */
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ProvisionError";
  }
}

/** Hands out device ids and signs their certificate requests. */
export class Provisioner {
  /** Ids handed out and not yet enrolled, with their expiry (unix ms). */
  readonly #pending = new Map<string, number>();
  /** Ids enrolled: never enrolled again. */
  readonly #enrolled = new Set<string>();
  #seq = 0;

  /** `work` holds the CSRs and certificates while openssl works on them. */
  constructor(
    private readonly ca: Ca,
    private readonly work: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new device id: 8 random digits (the shape of the cloud's ids), never handed out twice. */
  newId(): { id: string; expiresAt: string; expiresIn: number } {
    const t = this.now();
    for (const [id, until] of this.#pending) if (until <= t) this.#pending.delete(id);
    for (;;) {
      const n = crypto.getRandomValues(new Uint32Array(1))[0]! % 100_000_000;
      const id = String(n).padStart(8, "0");
      if (this.#pending.has(id) || this.#enrolled.has(id)) continue;
      const until = t + ID_TTL_S * 1000;
      this.#pending.set(id, until);
      return { id, expiresAt: new Date(until).toISOString(), expiresIn: ID_TTL_S };
    }
  }

  /** Whether `id` was enrolled. */
  enrolled(id: string): boolean {
    return this.#enrolled.has(id);
  }

  /** Signs `csrPem`; returns the id (its CN) and the certificate, or throws a ProvisionError. */
  async enroll(csrPem: string): Promise<{ id: string; certificate: string }> {
    if (!csrPem.includes("BEGIN CERTIFICATE REQUEST")) {
      throw new ProvisionError(400, "Invalid csr: expected a PEM certificate request");
    }
    await Deno.mkdir(this.work, { recursive: true });
    const base = `${this.work}/csr-${++this.#seq}`;
    await Deno.writeTextFile(`${base}.csr`, csrPem);
    try {
      let id: string | null;
      try {
        id = await csrCommonName(`${base}.csr`);
      } catch (err) {
        throw new ProvisionError(400, (err as Error).message);
      }
      if (!id) throw new ProvisionError(400, "The certificate request has no CN (the device id)");
      if (this.#enrolled.has(id)) {
        throw new ProvisionError(409, `Device ${id} is already enrolled`);
      }
      const until = this.#pending.get(id);
      if (until === undefined) {
        throw new ProvisionError(404, `Unknown device id "${id}": ask GET /orchestrators/id`);
      }
      if (until <= this.now()) {
        this.#pending.delete(id);
        throw new ProvisionError(404, `Device id ${id} expired: ask GET /orchestrators/id again`);
      }
      // Claimed before the (slow) signing: two concurrent requests for one id get one answer.
      this.#pending.delete(id);
      this.#enrolled.add(id);
      try {
        await signCsr(this.ca, `${base}.csr`, `${base}.crt`, { kind: "client" });
        return { id, certificate: await Deno.readTextFile(`${base}.crt`) };
      } catch (err) {
        this.#enrolled.delete(id);
        this.#pending.set(id, until);
        throw err;
      }
    } finally {
      await Deno.remove(`${base}.csr`).catch(() => {});
      await Deno.remove(`${base}.crt`).catch(() => {});
    }
  }
}

function reply(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function refusal(status: number, message: string): Response {
  return reply({ statusCode: String(status), message }, status);
}

/** Reads the `csr` field of a multipart body (file or plain field); throws a ProvisionError. */
async function readCsr(req: Request): Promise<string> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    throw new ProvisionError(
      400,
      "Expected multipart/form-data with the certificate request in field csr",
    );
  }
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) throw new ProvisionError(413, "Request body too large");
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new ProvisionError(400, "Unreadable multipart body");
  }
  const csr = form.get("csr");
  if (csr === null) throw new ProvisionError(400, "Missing field csr");
  const text = typeof csr === "string" ? csr : await csr.text();
  if (text.length > MAX_BODY_BYTES) throw new ProvisionError(413, "Request body too large");
  return text;
}

/** The provisioning request handler. */
export function provisioningHandler(p: Provisioner): (req: Request) => Promise<Response> {
  return async (req) => {
    const path = new URL(req.url).pathname;
    try {
      if (path === "/orchestrators/id" && req.method === "GET") {
        return reply({ data: p.newId() });
      }
      if (path === "/orchestrators/enroll" && req.method === "POST") {
        const { id, certificate } = await p.enroll(await readCsr(req));
        return reply({
          statusCode: "200",
          data: { certificate, message: `Device ${id} enrolled`, id },
        });
      }
      return refusal(404, `No route for ${req.method} ${path}`);
    } catch (err) {
      if (err instanceof ProvisionError) return refusal(err.status, err.message);
      return refusal(500, err instanceof Error ? err.message : String(err));
    }
  };
}

/** Serves the provisioning routes over HTTPS (no client certificate asked) on host:port. */
export function serveProvisioning(
  p: Provisioner,
  opts: { hostname: string; port: number; cert: string; key: string },
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ ...opts, onListen: () => {} }, provisioningHandler(p));
}
