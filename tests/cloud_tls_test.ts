/**
 * Cloud tier (openssl, loopback): the agent's mTLS identity and server verification against the
 * dev control plane, with real certificates.
 */
import assert from "node:assert/strict";
import { createCa, issue, issueDevice, issueServer } from "../scripts/devcloud/pki.ts";
import { startDevCloud } from "../scripts/devcloud/server.ts";
import { quietCloud, sleep, startAgent, stopAgent, TEST_BITS } from "./cloud_helpers.ts";

Deno.test("cloud mTLS: accepted, and every bad identity refused with a clear error", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "cloud_tls_" });
  const cloud = await quietCloud(`${dir}/cloud`);
  try {
    await t.step("good certificate: the server sees the CN", async () => {
      const mtls = await cloud.issueDevice("dev-good");
      const agent = startAgent({
        url: cloud.url,
        mtlsDir: mtls,
        serverCa: cloud.caFile,
        stateDir: `${dir}/s1`,
      });
      try {
        await cloud.waitForAgent("dev-good", 20_000);
        assert.ok(cloud.agents().includes("dev-good"));
      } finally {
        assert.equal(await stopAgent(agent), 0);
      }
    });

    const startupError = async (name: string, mtls: string, re: RegExp) => {
      await t.step(name, async () => {
        const agent = startAgent({
          url: cloud.url,
          mtlsDir: mtls,
          serverCa: cloud.caFile,
          stateDir: `${dir}/s-${name.replace(/\W/g, "")}`,
        });
        const code = await agent.status;
        assert.equal(code, 1, agent.output());
        assert.match(agent.output(), re);
      });
    };

    await startupError(
      "missing file",
      `${dir}/nowhere`,
      /nowhere\/client\.crt: cannot read the client certificate: file not found/,
    );

    const expired = `${dir}/expired`;
    await Deno.mkdir(expired);
    await issue(cloud.ca, {
      out: `${expired}/client`,
      subject: "/CN=dev-expired",
      kind: "client",
      bits: TEST_BITS,
      startDate: "20200101000000Z",
      endDate: "20210101000000Z",
    });
    await startupError("expired", expired, /expired\/client\.crt: certificate expired on/);

    const v1 = `${dir}/v1`;
    await Deno.mkdir(v1);
    await issue(cloud.ca, {
      out: `${v1}/client`,
      subject: "/CN=dev-v1",
      kind: "v1",
      bits: TEST_BITS,
    });
    await startupError("v1", v1, /v1\/client\.crt: certificate is X\.509 v1/);

    const noCn = `${dir}/nocn`;
    await Deno.mkdir(noCn);
    await issue(cloud.ca, {
      out: `${noCn}/client`,
      subject: "/O=NoName",
      kind: "client",
      bits: TEST_BITS,
    });
    await startupError("no CN", noCn, /nocn\/client\.crt: certificate subject has no CN/);

    const mismatch = await cloud.issueDevice("dev-mismatch");
    const other = await cloud.issueDevice("dev-other");
    await Deno.copyFile(`${other}/client.key`, `${mismatch}/client.key`);
    await startupError(
      "mismatched key",
      mismatch,
      /client\.key: private key does not match the certificate/,
    );

    await t.step(
      "certificate from another CA: refused by the cloud, agent says TLS refused",
      async () => {
        const foreign = await createCa(`${dir}/foreign-ca`, { bits: TEST_BITS, name: "foreign" });
        const mtls = `${dir}/foreign-dev`;
        await issueDevice(foreign, "dev-foreign", mtls, TEST_BITS);
        const agent = startAgent({
          url: cloud.url,
          mtlsDir: mtls,
          serverCa: cloud.caFile,
          stateDir: `${dir}/s-foreign`,
        });
        try {
          await agent.waitFor(
            /Cloud link down: cannot connect to https:\/\/localhost:\d+: .*/,
            20_000,
          );
          await sleep(500);
          assert.ok(!cloud.agents().includes("dev-foreign"));
          assert.equal(cloud.connections("dev-foreign"), 0);
        } finally {
          await stopAgent(agent);
        }
      },
    );
  } finally {
    await cloud.stop();
  }

  await t.step("server certificate for the wrong host: refused by the agent", async () => {
    const wdir = `${dir}/wrong`;
    const ca = await createCa(`${wdir}/ca`, { bits: TEST_BITS });
    await issueServer(ca, `${wdir}/server`, TEST_BITS, ["DNS:wrong.example"]);
    const wrong = await startDevCloud({ dir: wdir, bits: TEST_BITS, apiPort: null, log: () => {} });
    const mtls = await wrong.issueDevice("dev-wronghost");
    const agent = startAgent({
      url: wrong.url,
      mtlsDir: mtls,
      serverCa: wrong.caFile,
      stateDir: `${dir}/s-wrong`,
    });
    try {
      // rustls names the cause: the certificate is not valid for the host name asked for.
      await agent.waitFor(
        /Cloud link down: cannot connect.*certificate not valid for name/,
        20_000,
      );
      assert.equal(wrong.connections("dev-wronghost"), 0);
    } finally {
      await stopAgent(agent);
      await wrong.stop();
    }
  });
  await Deno.remove(dir, { recursive: true });
});
