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
