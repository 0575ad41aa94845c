import assert from "node:assert/strict";
import { certVersion, commonName } from "./identity.ts";

Deno.test("certVersion reads the optional version field", () => {
  // SEQUENCE { SEQUENCE { [0] { INTEGER 2 } ... } }
  assert.equal(
    certVersion(
      new Uint8Array([0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0xf0, 0xa0, 0x03, 0x02, 0x01, 0x02]),
    ),
    3,
  );
  // v1: TBSCertificate starts with the serial INTEGER
  assert.equal(
    certVersion(new Uint8Array([0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0xf0, 0x02, 0x01, 0x05])),
    1,
  );
});

Deno.test("commonName of a subject", () => {
  assert.equal(commonName("O=Edge\nOU=Development\nCN=07048933"), "07048933");
  assert.equal(commonName("O=Edge"), null);
  assert.equal(commonName("CN="), null);
});
