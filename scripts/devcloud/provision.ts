/**
 * Provisioning endpoints of the dev control plane, as the installer uses them:
 *
 * - `GET /orchestrators/id` gives `{"id": "<8 digits>"}`, a new unique device id;
 * - `POST /orchestrators/enroll` with `{"id", "csr"}` (PEM) gives `{"certificate": "<PEM>"}`, a
 *   v3 client certificate with CN = id signed by the devcloud CA. A CSR whose CN is not the id,
 *   an id this control plane never handed out, or an unreadable CSR gets a 400 JSON error.
 *
 * They are served on their own HTTPS listener (`provisionPort`), not on the Socket.IO one: a
 * device asking for its first certificate has none to present, and the Socket.IO listener keeps
 * refusing every TLS handshake without a client certificate (no per-route exceptions to get
 * wrong). Clients verify the server against the devcloud CA (`curl --cacert ca.crt`).
 *
 * @module
 */
import { json, router } from "./api.ts";
import { type Ca, csrCommonName, signCsr } from "./pki.ts";

/** Hands out device ids and signs their certificate requests. */
export class Provisioner {
  /** Ids handed out and not yet forgotten. */
  readonly ids = new Set<string>();
  #seq = 0;

  /** `work` holds the CSRs and certificates while openssl works on them. */
  constructor(private readonly ca: Ca, private readonly work: string) {}

  /** A new device id: 8 random digits (the shape of the cloud's ids), never handed out twice. */
  newId(): string {
    for (;;) {
      const n = crypto.getRandomValues(new Uint32Array(1))[0]! % 100_000_000;
      const id = String(n).padStart(8, "0");
      if (!this.ids.has(id)) {
        this.ids.add(id);
        return id;
      }
    }
  }

  /** Signs `csrPem` for `id`; throws a TypeError (answered as 400) when it must be refused. */
  async enroll(id: string, csrPem: string): Promise<string> {
    if (!this.ids.has(id)) {
      throw new TypeError(`Unknown device id "${id}": ask GET /orchestrators/id`);
    }
    if (!csrPem.includes("BEGIN CERTIFICATE REQUEST")) {
      throw new TypeError("Invalid csr: expected a PEM certificate request");
    }
    await Deno.mkdir(this.work, { recursive: true });
    const base = `${this.work}/${id}-${++this.#seq}`;
    await Deno.writeTextFile(`${base}.csr`, csrPem);
    try {
      const cn = await csrCommonName(`${base}.csr`);
      if (cn !== id) {
        throw new TypeError(
          `Refused the certificate request: its CN is "${cn ?? ""}", not "${id}"`,
        );
      }
      await signCsr(this.ca, `${base}.csr`, `${base}.crt`, { kind: "client" });
      return await Deno.readTextFile(`${base}.crt`);
    } finally {
      await Deno.remove(`${base}.csr`).catch(() => {});
      await Deno.remove(`${base}.crt`).catch(() => {});
    }
  }
}

/** One provisioning route (same shape as the API's). */
interface ProvisionRoute {
  method: string;
  path: string;
  handler: (p: Provisioner, req: Request) => Promise<Response>;
}

/** The provisioning route table. */
export const PROVISION_ROUTES: ProvisionRoute[] = [
  {
    method: "GET",
    path: "/orchestrators/id",
    handler: (p) => Promise.resolve(json({ id: p.newId() })),
  },
  {
    method: "POST",
    path: "/orchestrators/enroll",
    handler: async (p, req) => {
      let body: { id?: unknown; csr?: unknown };
      try {
        body = await req.json();
      } catch {
        return json({ error: "body must be JSON {id, csr}" }, 400);
      }
      if (typeof body.id !== "string" || typeof body.csr !== "string") {
        return json({ error: "id and csr must be strings" }, 400);
      }
      try {
        return json({ certificate: await p.enroll(body.id, body.csr) });
      } catch (err) {
        if (err instanceof TypeError) return json({ error: err.message }, 400);
        throw err;
      }
    },
  },
];

/** Serves the provisioning routes over HTTPS (no client certificate asked) on host:port. */
export function serveProvisioning(
  p: Provisioner,
  opts: { hostname: string; port: number; cert: string; key: string },
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { ...opts, onListen: () => {} },
    router(p, PROVISION_ROUTES),
  );
}
