import assert from "node:assert/strict";
import {
  describeThrown,
  GuardPolicy,
  installGuard,
  REJECTION_BUDGET,
  RESTART_EXIT_CODE,
} from "./guard.ts";
import type { Logger } from "./log.ts";

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (m: string, f?: Record<string, unknown>) =>
    lines.push(m + (f ? " " + JSON.stringify(f) : ""));
  return { lines, debug: put, info: put, warn: put, error: put };
}

const rejection = (reason: unknown) => {
  const promise = Promise.reject(reason);
  promise.catch(() => {});
  return new PromiseRejectionEvent("unhandledrejection", { promise, reason, cancelable: true });
};

Deno.test("describeThrown: errors, strings, objects, cycles", () => {
  const table: [unknown, RegExp][] = [
    [new TypeError("bad"), /^TypeError: bad$/],
    ["plain", /non-Error value thrown: plain/],
    [{ a: 1 }, /\{"a":1\}/],
    [undefined, /undefined/],
  ];
  for (const [v, re] of table) assert.match(describeThrown(v).message, re);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.match(describeThrown(cyc).message, /object/);
});

Deno.test("policy: rejections within budget continue, beyond it restart; exceptions restart", () => {
  let t = 0;
  const p = new GuardPolicy(() => t);
  for (let i = 0; i < REJECTION_BUDGET; i++) assert.equal(p.rejection(), "continue");
  assert.equal(p.rejection(), "restart");
  t += 61_000; // the window slides: old rejections no longer count
  assert.equal(p.rejection(), "continue");
  assert.equal(p.exception(), "restart");
});

Deno.test("installed guard: a rejection is logged and prevented, the process goes on", () => {
  const log = recorder();
  const target = new EventTarget();
  const exits: number[] = [];
  const remove = installGuard({ log, target, exit: (c) => exits.push(c) });
  const ev = rejection(new Error("boom in a timer"));
  target.dispatchEvent(ev);
  assert.equal(ev.defaultPrevented, true);
  assert.deepEqual(exits, []);
  assert.match(log.lines.join("\n"), /Unhandled promise rejection: Error: boom in a timer/);
  assert.match(log.lines.join("\n"), /stack/);
  remove();
});

Deno.test("installed guard: an uncaught exception shuts down gracefully, then exits 70", async () => {
  const log = recorder();
  const target = new EventTarget();
  const exited = Promise.withResolvers<number>();
  let shutdowns = 0;
  const remove = installGuard({
    log,
    target,
    exit: (c) => exited.resolve(c),
    restart: () => (shutdowns++, Promise.resolve()),
  });
  const ev = new ErrorEvent("error", { error: new RangeError("oops"), cancelable: true });
  target.dispatchEvent(ev);
  // A second one during the restart does not start another.
  target.dispatchEvent(new ErrorEvent("error", { error: new Error("again"), cancelable: true }));
  assert.equal(await exited.promise, RESTART_EXIT_CODE);
  assert.equal(ev.defaultPrevented, true);
  assert.equal(shutdowns, 1);
  assert.match(log.lines.join("\n"), /Uncaught exception: RangeError: oops/);
  assert.match(log.lines.join("\n"), /Restarting cleanly/);
  remove();
});
