import assert from "node:assert/strict";
import { certificateChecks, checkServerCa } from "./doctor.ts";

const TESTDATA = new URL("./session/testdata/", import.meta.url);
const path = (name: string): string => new URL(name, TESTDATA).pathname;
const read = (name: string): string => Deno.readTextFileSync(path(name));
/** Inside every fixture's validity except expired.crt's (see session/testdata/make.sh). */
const NOW = Date.parse("2025-06-01T00:00:00Z");

const checks = (cert: string, key: string | null) =>
  certificateChecks(
    { cert: read(cert), key: key && read(key), certFile: "d/client.crt", keyFile: "d/client.key" },
    NOW,
  ).map(({ name, ok, detail }) => ({ name, ok, detail }));

Deno.test("doctor: certificate and key verdicts", () => {
  assert.deepEqual(checks("rsa.crt", "rsa_pkcs1.key"), [
    { name: "certificate", ok: true, detail: "v3, CN=07048933, valid until 2034-01-01T12:00:00Z" },
    { name: "key matches certificate", ok: true, detail: "yes" },
  ]);
  assert.deepEqual(checks("ec.crt", "other_ec.key")[1], {
    name: "key matches certificate",
    ok: false,
    detail: "d/client.key does not belong to d/client.crt",
  });
  assert.deepEqual(checks("ec.crt", "ec.crt")[1], {
    name: "key matches certificate",
    ok: false,
    detail: "d/client.key: not a usable private key: No keys found in key data",
  });
  assert.deepEqual(checks("ec.crt", null).map((c) => c.name), ["certificate"]);
  assert.deepEqual(checks("expired.crt", "ec_sec1.key"), [
    {
      name: "certificate",
      ok: false,
      detail: "d/client.crt: certificate expired on 2021-01-01T00:00:00Z",
    },
  ]);
  assert.match(
    checks("ec_sec1.key", "ec_sec1.key")[0]!.detail,
    /^d\/client\.crt: not a PEM certificate: Cannot read PEM: no -----BEGIN CERTIFICATE/,
  );
});

Deno.test("doctor: the server CA check names the CA's subject", async () => {
  assert.deepEqual(await checkServerCa({ serverCa: path("ca.crt") }), {
    name: "server CA",
    ok: true,
    detail: `${path("ca.crt")}: O=edge-orchestrator fixtures, CN=fixture CA`,
  });
  const notCa = await checkServerCa({ serverCa: path("ec_sec1.key") });
  assert.equal(notCa.ok, false);
  assert.match(notCa.detail, /ec_sec1\.key: not a PEM certificate: Cannot read PEM: no -----BEGIN/);
  const missing = await checkServerCa({ serverCa: path("nowhere.crt") });
  assert.equal(missing.detail, `${path("nowhere.crt")} not found`);
  assert.deepEqual(await checkServerCa({ serverCa: null }), {
    name: "server CA",
    ok: true,
    detail: "system roots only",
  });
});
