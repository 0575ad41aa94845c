import assert from "node:assert/strict";
import type { Logger } from "../log.ts";
import { type CacheUpdate, InterfaceCache, primarySubnet } from "./interface_cache.ts";
import {
  namesSocket,
  type NetmonLine,
  OnceLog,
  parseNetmonLine,
  RETRY_MIN_MS,
  type SocketWatch,
  splitSocketPath,
  startNetmonClient,
  type WakeReason,
  WATCH_FALLBACK_MS,
  watchSocketDir,
} from "./netmon_client.ts";

/**
 * Lines of the original (Python) netmon, shapes from original-agent-reference.md §9.2/§9.3 (see
 * the header of the file for what is recorded and what is assumed).
 */
async function originalLines(): Promise<string[]> {
  const text = await Deno.readTextFile(
    new URL("./testdata/original_netmon_lines.jsonl", import.meta.url),
  );
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

function kind(p: NetmonLine): string {
  if ("event" in p) return `event ${p.event.type}`;
  if ("reply" in p) return `reply ${p.shape}`;
  if ("ignore" in p) return `ignore ${p.ignore}${p.original ? " (original)" : ""}`;
  return `skip ${p.skip}`;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") };
}

Deno.test("every recorded line of the original netmon is read: none skipped", async () => {
  const kinds = (await originalLines()).map((l) => kind(parseNetmonLine(l)));
  assert.deepEqual(kinds, [
    "event network_discovery",
    "ignore device_discovery (original)",
    "event network_change",
    "event network_change",
    "event network_change",
    "ignore dhcp_update (original)",
    "ignore device_change (original)",
    "ignore device_change (original)",
    "event network_change",
    "reply plain",
    "reply plain",
    "reply plain",
  ]);
});

Deno.test("the original's lines fill the cache: subnets and gateways for creates and re-wiring", async () => {
  const cache = new InterfaceCache();
  const updates = [];
  for (const line of await originalLines()) {
    const p = parseNetmonLine(line);
    if ("event" in p) updates.push(cache.apply(p.event));
  }
  assert.equal(cache.synced, true);
  assert.equal(cache.hasData(), true);
  assert.deepEqual(cache.list().map((i) => i.interface), ["eth0", "eth1"]);
  // What create_new_runtime reads when the cloud gives no parent_subnet.
  assert.equal(primarySubnet(cache.get("eth0")!), "192.0.2.0/24");
  assert.equal(cache.get("eth0")?.gateway, "192.0.2.1");
  assert.equal(cache.get("eth0")?.mac_address, undefined);
  // eth1 got an address after the discovery: a change the re-wiring acts on.
  assert.equal(primarySubnet(cache.get("eth1")!), "203.0.113.0/24");
  assert.deepEqual(updates[1]?.changed.map((i) => i.interface), ["eth1"]);
  // The periodic re-send of an unchanged eth0 is no change (no re-wiring every 30 s).
  assert.deepEqual(updates[2]?.changed, []);
  // A docker bridge going down (the original's weaker filter) is no news.
  assert.deepEqual(updates[3]?.gone, []);
  assert.deepEqual(updates[4]?.gone, [{ interface: "wlan0", status: "removed" }]);
  assert.equal(cache.absence("wlan0"), "removed");
});

Deno.test("one log line per kind of line, however often it comes", async () => {
  const log = recordingLogger();
  const once = new OnceLog(log);
  const lines = await originalLines();
  for (let round = 0; round < 3; round++) {
    for (const l of lines) once.line(parseNetmonLine(l));
  }
  once.line(parseNetmonLine('{"type":"bogus_event","data":{}}'));
  once.line(parseNetmonLine('{"type":"bogus_event","data":{"x":1}}'));
  assert.equal(log.lines.length, 6, log.lines.join("\n"));
  const text = log.lines.join("\n");
  assert.match(text, /INFO netmon sends interfaces without mac_address/);
  for (const t of ["device_discovery", "dhcp_update", "device_change"]) {
    assert.match(text, new RegExp(`INFO netmon sends "${t}" events \\(the original netmon's\\)`));
  }
  assert.match(text, /INFO netmon sent a reply in the original's shape while no command/);
  assert.match(text, /WARN netmon sent an event of unknown type "bogus_event": ignored/);
});

Deno.test("line table: ours, the original's, and garbage", () => {
  const cases: [string, string][] = [
    ['{"type":"reply","id":1,"command":"get_status","status":"ok","success":true}', "reply typed"],
    ['{"success":false,"error":"Timeout"}', "reply plain"],
    ['{"error":"x"}', "skip no type and no success"],
    ['{"type":"reply","status":"maybe"}', "skip invalid reply"],
    ['{"type":"device_change","data":{}}', "ignore device_change"],
    ['{"type":"network_change","data":{"interface":"x"}}', "skip invalid event"],
    ["[1]", "skip not an object"],
    ["nope", "skip not JSON"],
  ];
  for (const [line, want] of cases) {
    assert.ok(
      kind(parseNetmonLine(line)).startsWith(want),
      `${line}: ${kind(parseNetmonLine(line))}`,
    );
  }
});

// --- Waiting for the socket (issue 15: no polling while netmon is away) ---

/** A connection that delivers `lines` and ends when closed; any other call is not implemented. */
function fakeConn(lines: string[]): Deno.Conn {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
      for (const l of lines) c.enqueue(new TextEncoder().encode(`${l}\n`));
    },
  });
  const impl: Record<string, unknown> = {
    readable,
    close() {
      try {
        ctl.close();
      } catch { /* already closed */ }
    },
  };
  return new Proxy(impl, {
    get(target, key) {
      if (key in target) return target[key as string];
      if (key === "then") return undefined; // not a thenable
      throw new Error(`Not implemented: conn.${String(key)}`);
    },
  }) as unknown as Deno.Conn;
}

/** A watch that answers each wait from `answers` (or waits for the abort when they run out). */
function scriptedWatch(journal: string[], answers: WakeReason[]) {
  const made: { closed: number }[] = [];
  const factory = (path: string): SocketWatch => {
    journal.push(`watch ${path}`);
    const state = { closed: 0 };
    made.push(state);
    return {
      changed(ms, signal) {
        journal.push(`changed ${ms}`);
        const answer = answers.shift();
        if (answer) return Promise.resolve(answer);
        return new Promise((resolve) => {
          if (signal.aborted) return resolve("aborted");
          signal.addEventListener("abort", () => resolve("aborted"), { once: true });
        });
      },
      close() {
        journal.push("close watch");
        state.closed++;
        return Promise.resolve();
      },
    };
  };
  return { factory, made };
}

const notFound = () => new Deno.errors.NotFound("No such file or directory (os error 2)");

Deno.test("fast retries first, then the watch with its 30 s net; connected closes the watch", async () => {
  const journal: string[] = [];
  const abort = new AbortController();
  const log = recordingLogger();
  const [discovery] = await originalLines();
  // Attempts 1-5 fail (4 fast pauses, then the watch), the watch answers "armed", "timeout" and
  // "event" with a failure after each, the fast pauses start over, and attempt 10 connects.
  let attempt = 0;
  const watch = scriptedWatch(journal, ["armed", "timeout", "event"]);
  const updates: CacheUpdate[] = [];
  const done = startNetmonClient({
    path: "/run/x/netmon.sock",
    cache: new InterfaceCache(),
    log,
    signal: abort.signal,
    connect: () => {
      journal.push(`connect ${++attempt}`);
      return attempt < 10 ? Promise.reject(notFound()) : Promise.resolve(fakeConn([discovery!]));
    },
    watchSocket: watch.factory,
    sleep: (ms) => {
      journal.push(`sleep ${ms}`);
      return Promise.resolve();
    },
    onUpdate: (u) => {
      updates.push(u);
      journal.push("update");
      abort.abort();
    },
  });
  await done;
  assert.deepEqual(journal, [
    "connect 1",
    "sleep 250",
    "connect 2",
    "sleep 500",
    "connect 3",
    "sleep 1000",
    "connect 4",
    "sleep 2000",
    "connect 5",
    "watch /run/x/netmon.sock",
    `changed ${WATCH_FALLBACK_MS}`,
    "connect 6", // armed: the socket may have come before the watch
    `changed ${WATCH_FALLBACK_MS}`,
    "connect 7", // the safety net
    `changed ${WATCH_FALLBACK_MS}`,
    "connect 8", // an event named the socket: at once, then fast again (it may not listen yet)
    "sleep 250",
    "connect 9",
    "sleep 500",
    "connect 10",
    "close watch", // before reading: no watch while connected
    "update",
  ]);
  assert.deepEqual(watch.made, [{ closed: 1 }]);
  assert.equal(updates[0]?.discovery, true);
  const waiting = log.lines.filter((l) => l.startsWith("WARN Waiting for netmon"));
  assert.deepEqual(waiting, [
    "WARN Waiting for netmon at /run/x/netmon.sock: No such file or directory (os error 2)",
  ]);
});

Deno.test("a dropped connection retries fast again; abort ends the watch's wait and closes it", async () => {
  const journal: string[] = [];
  const abort = new AbortController();
  let attempt = 0;
  const watch = scriptedWatch(journal, []);
  let first: Deno.Conn | undefined;
  const done = startNetmonClient({
    path: "netmon.sock",
    cache: new InterfaceCache(),
    log: recordingLogger(),
    signal: abort.signal,
    connect: () => {
      journal.push(`connect ${++attempt}`);
      if (attempt === 1) return Promise.resolve(first = fakeConn([]));
      return Promise.reject(new Deno.errors.ConnectionRefused("Connection refused (os error 111)"));
    },
    watchSocket: watch.factory,
    sleep: (ms) => {
      journal.push(`sleep ${ms}`);
      return Promise.resolve();
    },
  });
  // netmon goes away: the client comes to wait on the watch, and stays there until the abort.
  await Promise.resolve();
  first!.close();
  while (journal.at(-1) !== `changed ${WATCH_FALLBACK_MS}`) {
    await new Promise((r) => setTimeout(r, 0));
  }
  abort.abort();
  await done;
  assert.deepEqual(journal, [
    "connect 1",
    `sleep ${RETRY_MIN_MS}`, // after the drop
    "connect 2",
    "sleep 250",
    "connect 3",
    "sleep 500",
    "connect 4",
    "sleep 1000",
    "connect 5",
    "sleep 2000",
    "connect 6",
    "watch netmon.sock",
    `changed ${WATCH_FALLBACK_MS}`,
    "close watch",
  ]);
  assert.deepEqual(watch.made, [{ closed: 1 }]);
});

Deno.test("splitSocketPath: the directory to watch and the name to look for", () => {
  assert.deepEqual(splitSocketPath("/var/orchestrator/netmon.sock"), {
    dir: "/var/orchestrator",
    name: "netmon.sock",
  });
  assert.deepEqual(splitSocketPath("/netmon.sock"), { dir: "/", name: "netmon.sock" });
  assert.deepEqual(splitSocketPath("netmon.sock"), { dir: ".", name: "netmon.sock" });
  assert.deepEqual(splitSocketPath("state/netmon.sock"), { dir: "state", name: "netmon.sock" });
});

Deno.test("namesSocket: the socket's creation wakes the client, the health file's rewrite does not", () => {
  const ev = (kind: Deno.FsEvent["kind"], ...paths: string[]): Deno.FsEvent => ({ kind, paths });
  const d = "/var/orchestrator";
  const cases: [Deno.FsEvent, boolean][] = [
    [ev("create", `${d}/netmon.sock`), true], // bind(2)
    [ev("rename", `${d}/tmp.sock`, `${d}/netmon.sock`), true], // moved into place
    [ev("modify", `${d}/netmon.sock`), true], // its mode changed (a refused connect may pass now)
    [ev("remove", `${d}/netmon.sock`), false], // going away, or cleared before a bind
    [ev("access", `${d}/netmon.sock`), false],
    [ev("create", `${d}/health.tmp-1-abcd`), false], // the health file, every heartbeat
    [ev("rename", `${d}/health.tmp-1-abcd`, `${d}/health`), false],
    [ev("create", `${d}/xnetmon.sock`), false],
    [ev("remove", d), false], // the directory itself: the timer notices (inode check)
    [{ kind: "other", paths: [], flag: "rescan" }, true], // events were dropped
  ];
  for (const [event, want] of cases) {
    assert.equal(namesSocket(event, "netmon.sock"), want, JSON.stringify(event));
  }
});

// --- The real watch on the real filesystem (needs --allow-write and --allow-net: a temp dir and
// a Unix socket; the read-only unit run ignores these, the tier run has them through
// tests/netmon_wait_test.ts).

const canListen = (["write", "net"] as const).every((name) =>
  Deno.permissions.querySync({ name }).state === "granted"
);

/** Resolves when `check()` holds; fails after `ms` with `what`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The real watch, recording why each wait returned and whether one is in progress. */
function observedWatch() {
  const reasons: WakeReason[] = [];
  let waiting = 0;
  const factory = (path: string, log: Logger): SocketWatch => {
    const real = watchSocketDir(path, log);
    return {
      async changed(ms, signal) {
        waiting++;
        try {
          const why = await real.changed(ms, signal);
          reasons.push(why);
          return why;
        } finally {
          waiting--;
        }
      },
      close: () => real.close(),
    };
  };
  return { factory, reasons, waitingOnEvents: () => waiting > 0 && reasons.includes("armed") };
}

/** A socket file whose listener is gone (Deno removes its socket file on close: keep a link). */
function staleSocket(path: string): void {
  const listener = Deno.listen({ transport: "unix", path });
  Deno.linkSync(path, `${path}.keep`);
  listener.close();
  Deno.renameSync(`${path}.keep`, path);
}

/** The client on `path` with the real connect, sleep and watch, until netmon (a listener the test
 * starts once the client waits on the watch) has sent it one discovery. */
async function connectsThroughTheWatch(path: string, beforeListen: () => void) {
  const abort = new AbortController();
  const log = recordingLogger();
  const watch = observedWatch();
  const cache = new InterfaceCache();
  const done = startNetmonClient({
    path,
    cache,
    log,
    signal: abort.signal,
    watchSocket: watch.factory,
  });
  let listener: Deno.Listener | undefined;
  let conn: Deno.Conn | undefined;
  try {
    // The fast retries take 3.75 s; then the watch is armed and waits.
    await until(watch.waitingOnEvents, 20_000, "the client to wait on the watch");
    beforeListen();
    listener = Deno.listen({ transport: "unix", path });
    // Not a timing assert: the fallback is 30 s, so a client still waiting after 10 s was not
    // woken by the watch (and its reason below would say "timeout").
    const accepted = await Promise.race([
      listener.accept(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("not connected within 10 s of the listener")), 10_000)
      ),
    ]);
    conn = accepted;
    const [discovery] = await originalLines();
    await conn.write(new TextEncoder().encode(`${discovery}\n`));
    await until(() => cache.synced, 10_000, "the discovery to reach the cache");
    assert.deepEqual(watch.reasons, ["armed", "event"]);
    return log.lines;
  } finally {
    abort.abort();
    await done;
    conn?.close();
    listener?.close();
  }
}

/** Runs `fn` with a fresh temp directory, removed afterwards whatever happens. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "netmon_wait_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "real watch: a client waiting for a missing socket connects as soon as netmon binds it",
  ignore: !canListen,
  fn: () =>
    inTempDir(async (dir) => {
      const lines = await connectsThroughTheWatch(`${dir}/netmon.sock`, () => {});
      assert.match(lines.join("\n"), /WARN Waiting for netmon at .*: No such file/);
      assert.match(lines.join("\n"), /INFO Connected to netmon at /);
    }),
});

Deno.test({
  name: "real watch: a stale socket file (listener gone) is waited out until netmon binds anew",
  ignore: !canListen,
  fn: () =>
    inTempDir(async (dir) => {
      const path = `${dir}/netmon.sock`;
      staleSocket(path);
      // A new netmon removes the stale file and binds: "remove" (ignored), then "create".
      const lines = await connectsThroughTheWatch(path, () => Deno.removeSync(path));
      assert.match(lines.join("\n"), /WARN Waiting for netmon at .*: Connection refused/);
    }),
});

Deno.test({
  name:
    "real watch: no directory is the timer, a new or replaced one is watched, other files wake nothing",
  ignore: !canListen,
  async fn() {
    const top = await Deno.makeTempDir({ prefix: "netmon_wait_" });
    const dir = `${top}/state`;
    const path = `${dir}/netmon.sock`;
    const log = recordingLogger();
    const watch = watchSocketDir(path, log);
    const never = new AbortController().signal;
    let listener: Deno.Listener | undefined;
    try {
      assert.equal(await watch.changed(20, never), "timeout");
      assert.match(
        log.lines.join("\n"),
        /WARN Cannot watch .*\/state for netmon's socket \(NotFound/,
      );
      await Deno.mkdir(dir);
      assert.equal(await watch.changed(20, never), "armed");
      // The health file's rewrite (temp file renamed over it) is not the socket.
      Deno.writeTextFileSync(`${dir}/health.tmp`, "{}\n");
      Deno.renameSync(`${dir}/health.tmp`, `${dir}/health`);
      assert.equal(await watch.changed(300, never), "timeout");
      listener = Deno.listen({ transport: "unix", path });
      assert.equal(await watch.changed(WATCH_FALLBACK_MS, never), "event");
      listener.close(); // Deno removes the file: "remove", not worth a wake-up
      listener = undefined;
      assert.equal(await watch.changed(300, never), "timeout");
      // The directory goes away: its own removal ends the wait and the watch, the next wait finds
      // no directory (the timer again), and a new directory is watched again.
      await Deno.remove(dir, { recursive: true });
      assert.equal(await watch.changed(WATCH_FALLBACK_MS, never), "event");
      assert.equal(await watch.changed(20, never), "timeout");
      await Deno.mkdir(dir);
      assert.equal(await watch.changed(20, never), "armed");
      assert.match(log.lines.join("\n"), /INFO Watching .*\/state for netmon's socket again/);
      // Replaced at once (the new directory often gets the old inode number back): the same.
      await Deno.remove(dir, { recursive: true });
      await Deno.mkdir(dir);
      assert.equal(await watch.changed(WATCH_FALLBACK_MS, never), "event");
      assert.equal(await watch.changed(20, never), "armed");
      Deno.writeTextFileSync(path, "not a socket, but its name");
      assert.equal(await watch.changed(WATCH_FALLBACK_MS, never), "event");
    } finally {
      listener?.close();
      await watch.close();
      await Deno.remove(top, { recursive: true });
    }
  },
});

Deno.test({
  name: "real watch: an abort or close ends the wait at once, nothing left behind",
  ignore: !canListen,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netmon_wait_" });
    const watch = watchSocketDir(`${dir}/netmon.sock`, recordingLogger());
    try {
      const abort = new AbortController();
      assert.equal(await watch.changed(WATCH_FALLBACK_MS, abort.signal), "armed");
      const waiting = watch.changed(WATCH_FALLBACK_MS, abort.signal);
      abort.abort();
      assert.equal(await waiting, "aborted");
      const pending = watch.changed(WATCH_FALLBACK_MS, new AbortController().signal);
      await watch.close();
      assert.equal(await pending, "aborted");
      // The sanitizers check the rest: no timer, no watcher, no pending read.
    } finally {
      await watch.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
