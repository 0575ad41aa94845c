import assert from "node:assert/strict";
import { checkIdentity, IdentityError, keyPairProblem, loadIdentity } from "./identity.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);
const read = (name: string): string => Deno.readTextFileSync(new URL(name, TESTDATA));
/** Inside every fixture's validity except expired.crt's (see testdata/make.sh). */
const NOW = Date.parse("2025-06-01T00:00:00Z");

const check = (cert: string, key: string, now = NOW) =>
  checkIdentity(
    { cert: read(cert), key: read(key), certFile: "d/client.crt", keyFile: "d/client.key" },
    now,
  );

Deno.test("every key format the devices use is accepted with its certificate", () => {
  const cases: [cert: string, key: string, cn: string][] = [
    ["rsa.crt", "rsa_pkcs8.key", "07048933"], // BEGIN PRIVATE KEY
    ["rsa.crt", "rsa_pkcs1.key", "07048933"], // BEGIN RSA PRIVATE KEY
    ["ec.crt", "ec_sec1.key", "dev-ec"], // BEGIN EC PRIVATE KEY
    ["ec.crt", "ec_pkcs8.key", "dev-ec"], // BEGIN PRIVATE KEY
  ];
  for (const [cert, key, cn] of cases) {
    const id = check(cert, key);
    assert.equal(id.agentId, cn, `${cert} + ${key}`);
    assert.equal(id.cert, read(cert));
    assert.equal(id.key, read(key));
    assert.equal(id.keyFile, "d/client.key");
  }
  assert.equal(check("ec.crt", "ec_sec1.key").notAfter.toISOString(), "2099-12-31T23:59:59.000Z");
});

Deno.test("a key of another certificate is refused naming both files", () => {
  for (
    const [cert, key] of [
      ["ec.crt", "other_ec.key"],
      ["rsa.crt", "other_rsa.key"],
      ["rsa.crt", "ec_sec1.key"],
      ["ec.crt", "rsa_pkcs1.key"],
    ]
  ) {
    assert.throws(() => check(cert!, key!), {
      name: "IdentityError",
      message: "d/client.key: private key does not match the certificate d/client.crt",
    });
    assert.deepEqual(keyPairProblem(read(cert!), read(key!)), { kind: "mismatch" });
  }
});

Deno.test("a key rustls cannot load is refused with its reason", () => {
  const ecKey = read("ec_pkcs8.key");
  const cases: [key: string, reason: RegExp][] = [
    [read("ec.crt"), /No keys found in key data/], // a certificate where the key should be
    [ecKey.replaceAll("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), /No keys found in key data/],
    [ecKey.replace(/\n[A-Za-z0-9+/]{8}/, "\nAAAAAAAA"), /./], // damaged key bytes
    ["", /No keys found in key data/],
  ];
  for (const [key, reason] of cases) {
    let err: unknown;
    try {
      checkIdentity({ cert: read("ec.crt"), key, certFile: "c.crt", keyFile: "k.key" }, NOW);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof IdentityError, String(err));
    assert.equal(err.file, "k.key");
    assert.match(err.message, /^k\.key: not a usable private key: /);
    assert.match(err.message, reason);
  }
});

Deno.test("bad certificates are refused naming the certificate file", () => {
  const cases: [cert: string, now: number, message: string][] = [
    [
      "v1.crt",
      NOW,
      "d/client.crt: certificate is X.509 v1; TLS here requires v3 (re-issue it with extensions)",
    ],
    ["expired.crt", NOW, "d/client.crt: certificate expired on 2021-01-01T00:00:00Z"],
    [
      "ec.crt",
      Date.parse("2023-12-31T23:59:59Z"),
      "d/client.crt: certificate is not valid before 2024-01-01T00:00:00Z",
    ],
    ["nocn.crt", NOW, "d/client.crt: certificate subject has no CN (subject: O=NoName)"],
    [
      "ec_sec1.key",
      NOW,
      "d/client.crt: not a PEM certificate: Cannot read PEM: no -----BEGIN CERTIFICATE----- block",
    ],
  ];
  for (const [cert, now, message] of cases) {
    assert.throws(() => check(cert, "ec_sec1.key", now), { name: "IdentityError", message });
  }
  const cut = read("ec.crt").replace(/(-----\n[A-Za-z0-9+/]{64}\n)[A-Za-z0-9+/]{64}\n/, "$1");
  assert.notEqual(cut, read("ec.crt"));
  assert.throws(
    () => checkIdentity({ cert: cut, key: "", certFile: "c.crt", keyFile: "k.key" }, NOW),
    { name: "IdentityError", message: /^c\.crt: not a PEM certificate: Cannot read / },
  );
});

Deno.test("loadIdentity names a missing file", async () => {
  const dir = new URL("./nowhere", TESTDATA).pathname;
  await assert.rejects(loadIdentity(dir, NOW), {
    name: "IdentityError",
    message: `${dir}/client.crt: cannot read the client certificate: file not found`,
  });
});
