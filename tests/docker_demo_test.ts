/**
 * `deno task demo --once` end to end, as a user runs it: control plane, netmon and agent as
 * processes, a runtime on a MACVLAN over a veth parent, its IP and MAC printed, a `run_command`
 * status round trip, and afterwards nothing left behind (container, networks, link, namespace).
 * Needs root and a Docker engine.
 */
import assert from "node:assert/strict";
import { sh, skipReason } from "./docker_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** The demo's fixed names (scripts/demo.ts). */
const RUNTIME = "demo-plc";
const PARENT = "eodemo0";
const LAN_NS = "eo-demo-lan";

const skip = await skipReason();
if (skip) console.log(`docker_demo_test skipped: ${skip}`);

Deno.test({
  name: "demo --once: runtime IP/MAC, status round trip, everything removed",
  ignore: skip !== null,
}, async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    // Web page on a free port (0), not 8444, so a demo the user left running is not in the way.
    args: ["task", "demo", "--once", "--web-port", "0"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  // The demo prints "[demo]" in bold: drop the escape sequences before matching.
  const text = (new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr))
    .replaceAll("\x1b[1m", "").replaceAll("\x1b[0m", "");
  assert.equal(out.code, 0, `the demo failed:\n${text}`);
  assert.match(text, /agent "demo-device" connected over mTLS/, text);
  assert.match(
    text,
    /vPLC "demo-plc" runs on macvlan_eodemo0_192\.0\.2\.0_24: IP 192\.0\.2\.50, MAC ([0-9a-f]{2}:){5}[0-9a-f]{2}/,
    text,
  );
  assert.match(
    text,
    /run_command GET \/api\/status -> 200 \{"status":"STATUS:(RUNNING|STOPPED)"\}/,
    text,
  );
  assert.match(text, /ping from the LAN host 192\.0\.2\.254 to 192\.0\.2\.50: answered/, text);
  assert.match(text, /demo-plc deleted in/, text);
  assert.match(text, /cleaned up/, text);
  console.log(/time to first runtime [\d.]+ s/.exec(text)?.[0]);

  assert.equal((await sh("docker", "ps", "-a", "-q", "--filter", `name=^${RUNTIME}$`)).trim(), "");
  const nets = (await sh("docker", "network", "ls", "--format", "{{.Name}}")).split("\n");
  assert.deepEqual(
    nets.filter((n) => n === `${RUNTIME}_internal` || n.startsWith(`macvlan_${PARENT}_`)),
    [],
  );
  await assert.rejects(sh("ip", "link", "show", PARENT), `link ${PARENT} left behind`);
  assert.ok(!(await sh("ip", "netns", "list")).includes(LAN_NS), `namespace ${LAN_NS} left behind`);
});
