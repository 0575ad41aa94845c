/**
 * Cloud tier (openssl, loopback): the control plane goes away for 20 s and comes back on the
 * same port; the agent returns within the backoff bound, heartbeats resume, and the host
 * consumption buffer has no gap for the outage (sampling never depended on the link).
 */
import assert from "node:assert/strict";
import { quietCloud, sleep, startAgent, stopAgent } from "./cloud_helpers.ts";

const ID = "dev-reconnect";
/** Backoff cap (30 s) plus 5 s for the handshake on a loaded CI machine. */
const BOUND_MS = 35_000;

Deno.test("cloud reconnect: 20 s outage, back within the bound, no gap in buffers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cloud_reconnect_" });
  let cloud = await quietCloud(`${dir}/cloud`);
  const port = cloud.port;
  const mtls = await cloud.issueDevice(ID);
  const agent = startAgent({
    url: cloud.url,
    mtlsDir: mtls,
    serverCa: cloud.caFile,
    stateDir: `${dir}/state`,
  });
  try {
    await cloud.waitForAgent(ID, 20_000);
    await sleep(6_000); // at least one host sample before the outage
    const outageStart = Math.floor(Date.now() / 1000);
    await cloud.stop();
    await sleep(20_000);
    cloud = await quietCloud(`${dir}/cloud`, port);
    const restarted = Date.now();
    await cloud.waitForAgent(ID, BOUND_MS);
    const back = Date.now() - restarted;
    console.log(`agent back ${back} ms after the control plane restarted`);
    assert.ok(back <= BOUND_MS);
    const beats = cloud.heartbeats(ID).length;
    await sleep(2_500);
    assert.ok(cloud.heartbeats(ID).length >= beats + 2, "heartbeats resumed");
    const now = Math.floor(Date.now() / 1000);
    const ack = await cloud.send(ID, "get_consumption_orchestrator", {
      cpuPeriod: `${outageStart - 10},${now}`,
      memoryPeriod: "5m",
    }) as { cpu_usage: { timestamp: number }[] };
    const ts = ack.cpu_usage.map((s) => s.timestamp);
    assert.ok(ts[0]! <= outageStart, `first sample ${ts[0]} after outage start ${outageStart}`);
    assert.ok(ts.at(-1)! >= now - 10);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    // 5 s sampling: a gap above 10 s would mean samples were lost while offline.
    assert.ok(gaps.every((g) => g <= 10), `gaps: ${gaps.join(",")}`);
  } finally {
    assert.equal(await stopAgent(agent), 0);
    await cloud.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
