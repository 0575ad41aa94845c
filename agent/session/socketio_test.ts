/**
 * The session's logic over a scripted WebSocket: handshake, pings, acks bound to their
 * connection, every way a link ends. The real wire (socket.io server, mTLS) is tested in
 * tests/cloud_*_test.ts. Timers are real but short; nothing here asserts a duration.
 */
import assert from "node:assert/strict";
import { type Logger, silentLogger } from "../log.ts";
import { Backoff } from "./backoff.ts";
import type { Identity } from "./identity.ts";
import { MASKED_ERROR } from "./probe.ts";
import { engineUrl, explainConnectError, socketIoSession } from "./socketio.ts";
import type { Inbound, Session } from "./types.ts";

/** The server's side of one scripted WebSocket. */
class Fake {
  binaryType = "blob";
  readyState: number = WebSocket.CONNECTING;
  sent: (string | Uint8Array)[] = [];
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: { message: string }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  closedByClient = false;
  constructor(readonly url: string) {}
  send(d: string | Uint8Array) {
    if (this.readyState !== WebSocket.OPEN) throw new Error("Not implemented: send before open");
    this.sent.push(d);
  }
  close() {
    if (this.readyState === WebSocket.CLOSED) return;
    this.closedByClient = true;
    this.readyState = WebSocket.CLOSED;
    queueMicrotask(() => this.onclose?.({ code: 1005, reason: "" }));
  }
  /** The server accepts the WebSocket and sends the Engine.IO open packet. */
  open(ping = { pingInterval: 25_000, pingTimeout: 20_000 }) {
    this.readyState = WebSocket.OPEN;
    this.frame(`0${JSON.stringify({ sid: "e1", upgrades: [], ...ping, maxPayload: 1_000 })}`);
  }
  frame(data: string | ArrayBuffer) {
    this.onmessage?.({ data });
  }
  /** The connection fails or drops from the server's side. */
  drop(error?: string, code = 1006) {
    this.readyState = WebSocket.CLOSED;
    if (error) this.onerror?.({ message: error });
    this.onclose?.({ code, reason: "" });
  }
}

const identity: Identity = {
  agentId: "dev-1",
  cert: "",
  key: "",
  certFile: "/nonexistent/client.crt",
  keyFile: "/nonexistent/client.key",
  notAfter: new Date(0),
};

function setup(
  extra: { connectTimeoutMs?: number; probe?: (url: string) => Promise<string | null> } = {},
) {
  const sockets: Fake[] = [];
  const lines: string[] = [];
  const states: boolean[] = [];
  const inbound: Inbound[] = [];
  const log: Logger = {
    debug() {},
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
  const s: Session = socketIoSession({
    url: "https://cloud.example:8443",
    identity,
    log,
    // 1 ms on every rung: the next attempt follows at once (the ladder has its own tests).
    backoff: new Backoff(() => Date.now(), () => 0.5, {
      baseMs: 1,
      capMs: 1,
      unlinkedRetryMs: 1,
    }),
    probe: () => Promise.reject(new Error("Not implemented: probe")),
    ...extra,
    openSocket: (url) => {
      const f = new Fake(url);
      sockets.push(f);
      return f as unknown as WebSocket;
    },
  });
  s.onState((up) => states.push(up));
  s.onMessage((m) => inbound.push(m));
  const last = () => sockets.at(-1)!;
  return { s, sockets, lines, states, inbound, last };
}

/** Waits for `cond` (a guard against a hang, not a timing assertion). */
async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), `never: ${what}`);
}

/** Starts and brings the first link up. */
async function up(t: ReturnType<typeof setup>) {
  t.s.start();
  await until(() => t.sockets.length === 1, "socket opened");
  t.last().open();
  assert.deepEqual(t.last().sent, ["40"]); // CONNECT to "/", no auth payload
  t.last().frame('40{"sid":"s1"}');
  assert.equal(t.s.connected(), true);
}

Deno.test("engineUrl: wss, Socket.IO's path, Engine.IO 4 over websocket", () => {
  assert.equal(
    engineUrl("https://api.getedge.me"),
    "wss://api.getedge.me/socket.io/?EIO=4&transport=websocket",
  );
  assert.equal(
    engineUrl("https://h:8443/ignored/path?x=1#f"),
    "wss://h:8443/socket.io/?x=1&EIO=4&transport=websocket",
  );
});

Deno.test("explainConnectError: the causes an operator meets, each with its hint", () => {
  const table: [string, string][] = [
    [
      "invalid peer certificate: UnknownIssuer",
      "invalid peer certificate: UnknownIssuer (the server certificate is not signed by a trusted CA: check --server-ca)",
    ],
    [
      "invalid peer certificate: NotValidForName",
      "invalid peer certificate: NotValidForName (the server certificate does not name this host: check --server-url)",
    ],
    [
      "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/x#unexpected-eof",
      "peer closed connection without sending TLS close_notify (TLS refused: the cloud may not accept this device certificate, or it is from another CA)",
    ],
    [
      "received fatal alert: CertificateRequired",
      "received fatal alert: CertificateRequired (TLS refused: the cloud may not accept this device certificate, or it is from another CA)",
    ],
    [
      "Connection refused (os error 111)",
      "Connection refused (os error 111) (cloud not reachable)",
    ],
    [
      "failed to lookup address information: Name or service not known",
      "failed to lookup address information: Name or service not known (the cloud's host name does not resolve: check --server-url and DNS)",
    ],
    [
      "the server answered the upgrade with HTTP/1.1 404 Not Found",
      "the server answered the upgrade with HTTP/1.1 404 Not Found",
    ],
  ];
  for (const [raw, want] of table) assert.equal(explainConnectError(raw), want);
});

Deno.test("session: handshake, emit, ping answered, clean close sends DISCONNECT", async () => {
  const t = setup();
  assert.equal(t.s.emit("heartbeat", {}), false); // not started: dropped
  await up(t);
  assert.equal(t.last().url, "wss://cloud.example:8443/socket.io/?EIO=4&transport=websocket");
  assert.equal(t.last().binaryType, "arraybuffer");
  assert.deepEqual(t.states, [true]);
  assert.ok(t.lines.includes("INFO Connected to https://cloud.example:8443 as dev-1"));
  assert.equal(t.s.emit("heartbeat", { n: 1 }), true);
  t.last().frame("2");
  t.last().frame("6"); // noop: nothing
  assert.deepEqual(t.last().sent.slice(1), ['42["heartbeat",{"n":1}]', "3"]);
  await t.s.close();
  assert.equal(t.last().sent.at(-1), "41");
  assert.equal(t.last().closedByClient, true);
  assert.deepEqual(t.states, [true, false]);
  assert.equal(t.s.connected(), false);
  assert.equal(t.sockets.length, 1, "no retry after close");
  assert.ok(!t.lines.some((l) => l.includes("link down")), t.lines.join("\n"));
});

Deno.test("session: inbound events and acks (one answer, same connection only)", async () => {
  const t = setup();
  await up(t);
  t.last().frame('42["get_host_interfaces",{"correlation_id":1}]'); // no ack asked
  t.last().frame('4217["get_device_status",{"device_id":"plc1"}]');
  t.last().frame('427["no_payload"]');
  assert.equal(t.inbound.length, 3);
  assert.deepEqual(t.inbound[0], { topic: "get_host_interfaces", payload: { correlation_id: 1 } });
  assert.equal(t.inbound[1]!.topic, "get_device_status");
  assert.deepEqual(t.inbound[1]!.payload, { device_id: "plc1" });
  assert.equal(t.inbound[2]!.payload, undefined);
  t.inbound[1]!.ack!({ status: "not_found" });
  t.inbound[1]!.ack!({ status: "twice" }); // Socket.IO answers an ack id once
  assert.deepEqual(t.last().sent.slice(1), ['4317[{"status":"not_found"}]']);
  // The link drops; a new one comes up; the old command's ack must not go into it (a
  // restarted cloud numbers its acks from 0 again).
  const first = t.last();
  first.drop();
  await until(() => t.sockets.length === 2, "reconnected");
  t.last().open();
  t.last().frame('40{"sid":"s2"}');
  t.inbound[2]!.ack!({ late: true });
  assert.deepEqual(t.last().sent, ["40"]);
  assert.equal(first.sent.length, 2);
  assert.ok(
    t.lines.some((l) => l.startsWith('WARN Ack of "no_payload" dropped')),
    t.lines.join("\n"),
  );
  assert.ok(
    t.lines.some((l) => l.startsWith("WARN Cloud link down: disconnected (transport close)")),
    t.lines.join("\n"),
  );
  assert.deepEqual(t.states, [true, false, true]);
  await t.s.close();
});

Deno.test("session: a binary event is put together before it is handed up", async () => {
  const t = setup();
  await up(t);
  t.last().frame('451-3["upload",{"file":{"_placeholder":true,"num":0}}]');
  assert.equal(t.inbound.length, 0);
  t.last().frame(new Uint8Array([7, 8]).buffer);
  assert.deepEqual(t.inbound[0]!.payload, { file: new Uint8Array([7, 8]) });
  t.inbound[0]!.ack!({ got: new Uint8Array([1]) });
  assert.deepEqual(t.last().sent.slice(1), [
    '461-3[{"got":{"_placeholder":true,"num":0}}]',
    new Uint8Array([1]),
  ]);
  await t.s.close();
});

Deno.test("session: every way a link or attempt ends is logged and retried", async (t) => {
  const cases: {
    name: string;
    run: (f: Fake) => void;
    line: RegExp;
    wasUp: boolean;
    timeout?: number;
    probe?: (url: string) => Promise<string | null>;
  }[] = [
    {
      name: "connection refused before the WebSocket opens",
      run: (f) => f.drop("NetworkError: failed to connect to WebSocket: tcp connect error"),
      line: /cannot connect to https:\/\/cloud\.example:8443: NetworkError: .*tcp connect error/,
      wasUp: false,
    },
    {
      name: "TLS refusal gets its hint",
      run: (f) => f.drop("NetworkError: invalid peer certificate: UnknownIssuer"),
      line: /UnknownIssuer \(the server certificate is not signed by a trusted CA/,
      wasUp: false,
    },
    {
      name: "Deno's masked error: the probe names the cause",
      run: (f) => f.drop(`NetworkError: failed to connect to WebSocket: ${MASKED_ERROR}`),
      probe: (url) =>
        Promise.resolve(
          url.startsWith("wss://cloud.example:8443/socket.io/") ? "UnknownIssuer" : null,
        ),
      line: /cannot connect to .*: UnknownIssuer \(the server certificate is not signed/,
      wasUp: false,
    },
    {
      name: "Deno's masked error: the probe finds nothing, the message stays",
      run: (f) => f.drop(`NetworkError: failed to connect to WebSocket: ${MASKED_ERROR}`),
      probe: () => Promise.resolve(null),
      line: /cannot connect to .*: NetworkError: .*HTTP\/2 not supported by this client;/,
      wasUp: false,
    },
    {
      name: "closed without an error",
      run: (f) => f.drop(undefined, 1002),
      line: /cannot connect to .*: websocket closed \(1002\)/,
      wasUp: false,
    },
    {
      name: "namespace refused (CONNECT_ERROR)",
      run: (f) => {
        f.open();
        f.frame('44{"message":"Not authorized"}');
      },
      line: /cannot connect to .*: connect error: Not authorized/,
      wasUp: false,
    },
    {
      name: "handshake timeout",
      run: (f) => f.open(), // the server never answers CONNECT
      line: /cannot connect to .*: timeout/,
      wasUp: false,
      timeout: 5,
    },
    {
      name: "bad handshake",
      run: (f) => {
        f.readyState = WebSocket.OPEN;
        f.frame('0{"sid":"x","pingInterval":"soon","pingTimeout":1}');
      },
      line: /cannot connect to .*: parse error: .*pingInterval is not a positive number/,
      wasUp: false,
    },
    {
      name: "server disconnects the socket",
      run: (f) => f.frame("41"),
      line: /disconnected \(io server disconnect\)/,
      wasUp: true,
    },
    {
      name: "Engine.IO close",
      run: (f) => f.frame("1"),
      line: /disconnected \(transport close\)/,
      wasUp: true,
    },
    {
      name: "transport error",
      run: (f) => f.drop("connection reset"),
      line: /disconnected \(transport error: connection reset\)/,
      wasUp: true,
    },
    {
      name: "garbage from the server",
      run: (f) => f.frame('42["x"'),
      line: /disconnected \(parse error: Cannot decode Socket\.IO packet: payload is not JSON\)/,
      wasUp: true,
    },
    {
      name: "no ping within pingInterval + pingTimeout",
      run: () => {},
      line: /disconnected \(ping timeout\)/,
      wasUp: true,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const x = setup({
        ...(c.timeout ? { connectTimeoutMs: c.timeout } : {}),
        ...(c.probe ? { probe: c.probe } : {}),
      });
      x.s.start();
      await until(() => x.sockets.length === 1, "socket opened");
      if (c.wasUp) {
        x.last().open({ pingInterval: 20, pingTimeout: 20 });
        x.last().frame('40{"sid":"s1"}');
        assert.equal(x.s.connected(), true);
      }
      const f = x.last();
      c.run(f);
      await until(() => x.sockets.length === 2, "next attempt");
      assert.ok(x.lines.some((l) => c.line.test(l)), x.lines.join("\n"));
      assert.ok(x.lines.some((l) => /Failed to reconnect, retrying in/.test(l)));
      assert.deepEqual(x.states, c.wasUp ? [true, false] : []);
      assert.equal(f.readyState, WebSocket.CLOSED);
      assert.equal(x.s.connected(), false);
      await x.s.close();
    });
  }
});

Deno.test("session: a WebSocket that throws at once is an attempt that failed", async () => {
  const lines: string[] = [];
  let n = 0;
  const s = socketIoSession({
    url: "https://cloud.example:8443",
    identity,
    log: { ...silentLogger, warn: (m) => lines.push(m) },
    backoff: new Backoff(() => Date.now(), () => 0.5, { baseMs: 1, capMs: 1, unlinkedRetryMs: 1 }),
    openSocket: () => {
      n++;
      throw new Error('Requires net access to "cloud.example:8443"');
    },
  });
  s.start();
  await until(() => n >= 2, "tried again");
  await s.close();
  assert.match(lines[0]!, /cannot connect to .*: Requires net access/);
});

Deno.test("session: pings keep a link alive; a stale socket's events are ignored", async () => {
  const t = setup();
  t.s.start();
  await until(() => t.sockets.length === 1, "socket opened");
  t.last().open({ pingInterval: 200, pingTimeout: 200 });
  t.last().frame('40{"sid":"s1"}');
  // A ping every 50 ms for 600 ms: longer than the 400 ms window, which each ping re-arms.
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 50));
    t.last().frame("2");
  }
  assert.equal(t.sockets.length, 1);
  assert.equal(t.s.connected(), true);
  // A message for another namespace is not ours.
  t.last().frame('42/admin,["x"]');
  assert.equal(t.inbound.length, 0);
  await t.s.close();
  t.sockets[0]!.frame('42["late"]'); // after close: nothing handed up, nothing thrown
  assert.equal(t.inbound.length, 0);
});
