import assert from "node:assert/strict";
import { DEFAULT_DEBOUNCE_MS, DEFAULT_RESEND_MS, DEFAULT_SOCKET, parseConfig } from "./config.ts";

const noEnv = () => undefined;

Deno.test("defaults, flags, environment, flag wins", () => {
  assert.deepEqual(parseConfig([], noEnv), {
    kind: "ok",
    config: {
      socket: DEFAULT_SOCKET,
      debounceMs: DEFAULT_DEBOUNCE_MS,
      resendMs: DEFAULT_RESEND_MS,
      logLevel: "INFO",
    },
  });
  const env = (n: string) =>
    ({ NETMON_SOCKET: "/e.sock", NETMON_DEBOUNCE_MS: "10", NETMON_LOG_LEVEL: "debug" })[n];
  assert.deepEqual(parseConfig([], env), {
    kind: "ok",
    config: { socket: "/e.sock", debounceMs: 10, resendMs: 30_000, logLevel: "DEBUG" },
  });
  assert.deepEqual(
    parseConfig(["--", "--socket", "/f.sock", "--debounce", "300", "--resend=0"], env),
    { kind: "ok", config: { socket: "/f.sock", debounceMs: 300, resendMs: 0, logLevel: "DEBUG" } },
  );
  assert.deepEqual(parseConfig(["--help"], noEnv), { kind: "help" });
});

Deno.test("bad values are one clear line", () => {
  const cases: [string[], RegExp][] = [
    [["--debounce", "abc"], /^Invalid --debounce "abc": expected milliseconds/],
    [["--debounce=-5"], /^Invalid --debounce "-5"/],
    [["--debounce", "-5"], /--debounce/],
    [["--debounce", "99999999"], /^Invalid --debounce/],
    [["--resend", "30s"], /^Invalid --resend "30s": expected milliseconds/],
    [["--log-level", "LOUD"], /^Invalid --log-level "LOUD": expected one of DEBUG/],
    [["--socket", ""], /^Invalid --socket: empty path/],
    [["--bogus"], /bogus/],
    [["extra"], /extra/],
  ];
  for (const [args, re] of cases) {
    const r = parseConfig(args, noEnv);
    assert.equal(r.kind, "error", args.join(" "));
    if (r.kind === "error") {
      assert.match(r.message, re);
      assert.ok(!r.message.includes("\n"));
    }
  }
});
