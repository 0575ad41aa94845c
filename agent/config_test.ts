import assert from "node:assert/strict";
import { helpText, parseConfig } from "./config.ts";

Deno.test("config: defaults, env, flag wins", () => {
  const r = parseConfig([], {}, "/home/u");
  assert.ok(r.ok);
  assert.equal(r.config.serverUrl, "https://api.getedge.me");
  assert.equal(r.config.mtlsDir, "/home/u/.mtls");
  assert.equal(r.config.netmonSocket, "/var/orchestrator/netmon.sock");
  assert.equal(r.config.heartbeatInterval, 5);
  const e = parseConfig(["--heartbeat-interval", "2"], {
    ORCHESTRATOR_HEARTBEAT_INTERVAL: "9",
    ORCHESTRATOR_STATE_DIR: "/s",
    DOCKER_HOST: "unix:///d.sock",
    ORCHESTRATOR_LOG_LEVEL: "debug",
  }, "/h");
  assert.ok(e.ok);
  assert.equal(e.config.heartbeatInterval, 2);
  assert.equal(e.config.netmonSocket, "/s/netmon.sock");
  assert.equal(e.config.dockerSocket, "/d.sock");
  assert.equal(e.config.logLevel, "DEBUG");
  const d = parseConfig(["doctor"], {}, "/h");
  assert.ok(d.ok && d.config.command === "doctor");
});

Deno.test("config: one clear line per bad value", () => {
  const bad: [string[], Record<string, string>, RegExp][] = [
    [["--heartbeat-interval", "0"], {}, /^Invalid --heartbeat-interval/],
    [["--server-url", "http://x"], {}, /must use https/],
    [["--log-level", "LOUD"], {}, /^Invalid --log-level/],
    [["--bogus"], {}, /bogus/],
    [["reboot"], {}, /Unknown command/],
    [[], { DOCKER_HOST: "tcp://1.2.3.4:2375" }, /DOCKER_HOST/],
  ];
  for (const [args, env, re] of bad) {
    const r = parseConfig(args, env, "/h");
    assert.ok(!r.ok && !r.help);
    assert.match(r.error, re);
    assert.ok(!r.error.includes("\n"));
  }
  assert.deepEqual(parseConfig(["--help"], {}, "/h"), { ok: false, help: true });
  for (
    const flag of [
      "--server-url",
      "--mtls-dir",
      "--heartbeat-interval",
      "--log-level",
      "ORCHESTRATOR_SERVER_CA",
    ]
  ) {
    assert.ok(helpText().includes(flag), flag);
  }
});

Deno.test("config: flags after the command, a leading -- ignored, unpin, allowed parents", () => {
  const d = parseConfig(["--", "doctor", "--mtls-dir", "/m"], {}, "/h");
  assert.ok(d.ok);
  assert.equal(d.config.command, "doctor");
  assert.equal(d.config.mtlsDir, "/m");
  const u = parseConfig(["unpin", "plc-1", "--state-dir", "/s"], {}, "/h");
  assert.ok(u.ok);
  assert.equal(u.config.command, "unpin");
  assert.equal(u.config.unpinRuntime, "plc-1");
  assert.equal(u.config.stateDir, "/s");
  const p = parseConfig(["--allowed-parents", "eth0, wlan0,eth0"], {}, "/h");
  assert.ok(p.ok);
  assert.deepEqual(p.config.allowedParents, ["eth0", "wlan0"]);
  const e = parseConfig([], { ORCHESTRATOR_ALLOWED_PARENTS: "enp3s0" }, "/h");
  assert.ok(e.ok);
  assert.deepEqual(e.config.allowedParents, ["enp3s0"]);
  const none = parseConfig([], {}, "/h");
  assert.ok(none.ok);
  assert.equal(none.config.allowedParents, null);
  const bad: [string[], RegExp][] = [
    [["unpin"], /unpin needs the runtime/],
    [["unpin", "a", "b"], /Unknown command/],
    [["doctor", "extra"], /Unknown command/],
    [["--allowed-parents", "eth0,a b"], /Invalid --allowed-parents.*"a b"/],
    [["--allowed-parents", ","], /Invalid --allowed-parents/],
    [["--allowed-parents", "x".repeat(16)], /Invalid --allowed-parents/],
  ];
  for (const [args, re] of bad) {
    const r = parseConfig(args, {}, "/h");
    assert.ok(!r.ok && !r.help, args.join(" "));
    assert.match(r.error, re);
  }
  assert.match(helpText(), /unpin RUNTIME/);
  assert.match(helpText(), /--allowed-parents/);
});
