import assert from "node:assert/strict";
import type { Ca } from "./pki.ts";
import { ID_TTL_S, Provisioner, provisioningHandler } from "./provision.ts";

// No openssl here (unit tests run with --allow-read only): only what is refused before signing.
// Enrolment itself is covered by tests/docker_install_provision_test.ts.
const CA = {} as Ca;

Deno.test("GET /orchestrators/id: {data:{id, expiresAt, expiresIn}}, ids never repeat", async () => {
  const t = Date.UTC(2026, 0, 1);
  const handle = provisioningHandler(new Provisioner(CA, "/nonexistent", () => t));
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const res = await handle(new Request("https://x/orchestrators/id"));
    assert.equal(res.status, 200);
    const { data } = await res.json();
    assert.match(data.id, /^\d{8}$/);
    assert.equal(data.expiresIn, ID_TTL_S);
    assert.equal(data.expiresAt, new Date(t + ID_TTL_S * 1000).toISOString());
    assert.ok(!seen.has(data.id));
    seen.add(data.id);
  }
});

/** [name, content type, body, status, message pattern] */
const REFUSALS: [string, string | null, BodyInit | null, number, RegExp][] = [
  ["JSON instead of a form", "application/json", '{"csr":"x"}', 400, /multipart\/form-data/],
  ["no body type", null, "csr=x", 400, /multipart/],
  [
    "form without csr",
    null,
    (() => {
      const f = new FormData();
      f.set("other", "x");
      return f;
    })(),
    400,
    /Missing field csr/,
  ],
  [
    "csr that is not PEM",
    null,
    (() => {
      const f = new FormData();
      f.set("csr", new File(["hello"], "client.csr"));
      return f;
    })(),
    400,
    /PEM certificate request/,
  ],
];

for (const [name, type, body, status, pattern] of REFUSALS) {
  Deno.test(`POST /orchestrators/enroll refuses ${name}: {statusCode, message}`, async () => {
    const handle = provisioningHandler(new Provisioner(CA, "/nonexistent"));
    const headers: Record<string, string> = type ? { "content-type": type } : {};
    const req = new Request("https://x/orchestrators/enroll", { method: "POST", body, headers });
    if (type === null && typeof body === "string") req.headers.delete("content-type");
    const res = await handle(req);
    assert.equal(res.status, status);
    const reply = await res.json();
    assert.equal(reply.statusCode, String(status));
    assert.match(reply.message, pattern);
  });
}

Deno.test("unknown route: 404 {statusCode, message}", async () => {
  const handle = provisioningHandler(new Provisioner(CA, "/nonexistent"));
  const res = await handle(new Request("https://x/orchestrators/enrol", { method: "POST" }));
  assert.equal(res.status, 404);
  assert.equal((await res.json()).statusCode, "404");
});
