import assert from "node:assert/strict";
import {
  decodeEngine,
  decodeSio,
  encodeSio,
  MAX_ATTACHMENTS,
  parseHandshake,
  putBinary,
  SioDecoder,
  type SioPacket,
  SioType,
} from "./sio_codec.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("engine: text frames by type, binary frames are messages", () => {
  const table: [string, unknown][] = [
    ['0{"sid":"a"}', { type: "open", data: '{"sid":"a"}' }],
    ["1", { type: "close" }],
    ["2", { type: "ping", data: "" }],
    ["2probe", { type: "ping", data: "probe" }],
    ["3", { type: "pong", data: "" }],
    ['42["x"]', { type: "message", data: '2["x"]' }],
    ["4", { type: "message", data: "" }],
    ["5", { type: "upgrade" }],
    ["6", { type: "noop" }],
  ];
  for (const [frame, want] of table) assert.deepEqual(decodeEngine(frame), want, frame);
  assert.deepEqual(decodeEngine(bytes(1, 2)), { type: "message", data: bytes(1, 2) });
  assert.deepEqual(decodeEngine(bytes(3).buffer), { type: "message", data: bytes(3) });
  for (const bad of ["", "7", "x", "/0", "\u0000"]) {
    assert.throws(() => decodeEngine(bad), SyntaxError, JSON.stringify(bad));
  }
});

Deno.test("engine: handshake fields checked, maxPayload defaulted", () => {
  assert.deepEqual(
    parseHandshake(
      '{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    ),
    { sid: "s1", pingInterval: 25_000, pingTimeout: 20_000, maxPayload: 1_000_000 },
  );
  assert.equal(
    parseHandshake('{"sid":"s","pingInterval":1,"pingTimeout":1}').maxPayload,
    1_000_000,
  );
  const bad: [string, ErrorConstructor][] = [
    ["nope", SyntaxError],
    ["null", SyntaxError],
    ['{"pingInterval":1,"pingTimeout":1}', SyntaxError],
    ['{"sid":"","pingInterval":1,"pingTimeout":1}', SyntaxError],
    ['{"sid":"s","pingInterval":"1","pingTimeout":1}', SyntaxError],
    ['{"sid":"s","pingInterval":0,"pingTimeout":1}', SyntaxError],
    ['{"sid":"s","pingInterval":1,"pingTimeout":-1}', SyntaxError],
    ['{"sid":"s","pingInterval":1,"pingTimeout":1,"maxPayload":0}', SyntaxError],
    ['{"sid":"s","pingInterval":2147483647,"pingTimeout":1}', RangeError],
  ];
  for (const [data, kind] of bad) assert.throws(() => parseHandshake(data), kind, data);
});

Deno.test("sio: decode table (the examples of the protocol description and our topics)", () => {
  const table: [string, SioPacket & { attachments: number }][] = [
    ["0", { type: SioType.CONNECT, nsp: "/", attachments: 0 }],
    ['0{"sid":"abc"}', { type: 0, nsp: "/", data: { sid: "abc" }, attachments: 0 }],
    ['0/admin,{"sid":"x"}', { type: 0, nsp: "/admin", data: { sid: "x" }, attachments: 0 }],
    ["1", { type: SioType.DISCONNECT, nsp: "/", attachments: 0 }],
    ["1/admin,", { type: 1, nsp: "/admin", attachments: 0 }],
    ['2["hello",1]', { type: SioType.EVENT, nsp: "/", data: ["hello", 1], attachments: 0 }],
    [
      '212["get_device_status",{"device_id":"plc1"}]',
      {
        type: 2,
        nsp: "/",
        id: 12,
        data: ["get_device_status", { device_id: "plc1" }],
        attachments: 0,
      },
    ],
    ['2/admin,456["x"]', { type: 2, nsp: "/admin", id: 456, data: ["x"], attachments: 0 }],
    ["30[]", { type: SioType.ACK, nsp: "/", id: 0, data: [], attachments: 0 }],
    ['3/admin,7["ok"]', { type: 3, nsp: "/admin", id: 7, data: ["ok"], attachments: 0 }],
    [
      '4{"message":"Not authorized"}',
      {
        type: SioType.CONNECT_ERROR,
        nsp: "/",
        data: { message: "Not authorized" },
        attachments: 0,
      },
    ],
    ['4"old style"', { type: 4, nsp: "/", data: "old style", attachments: 0 }],
    [
      '51-["f",{"_placeholder":true,"num":0}]',
      {
        type: SioType.BINARY_EVENT,
        nsp: "/",
        data: ["f", { _placeholder: true, num: 0 }],
        attachments: 1,
      },
    ],
    [
      '62-/admin,9[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      {
        type: SioType.BINARY_ACK,
        nsp: "/admin",
        id: 9,
        data: [{ _placeholder: true, num: 0 }, { _placeholder: true, num: 1 }],
        attachments: 2,
      },
    ],
  ];
  for (const [text, want] of table) assert.deepEqual(decodeSio(text), want, text);
});

Deno.test("sio: malformed packets refused with SyntaxError, limits with RangeError", () => {
  const syntax = [
    "",
    "7",
    "a",
    "2",
    "2{}",
    "2[]",
    "2[1]",
    '2["x"', // truncated JSON
    "3[]", // ack without id
    '3{"a":1}',
    '1["x"]',
    "0[]",
    "0null",
    "4",
    "4[1]",
    '5["x"]', // no attachment count
    '5x-["x"]',
    '21234567890123456789["x"]', // ack id beyond 16 digits
  ];
  for (const t of syntax) assert.throws(() => decodeSio(t), SyntaxError, JSON.stringify(t));
  assert.throws(
    () => decodeSio(`5${MAX_ATTACHMENTS + 1}-["x"]`),
    RangeError,
  );
  assert.equal(decodeSio(`5${MAX_ATTACHMENTS}-["x"]`).attachments, MAX_ATTACHMENTS);
});

Deno.test("sio: encode table", () => {
  const table: [SioPacket, string][] = [
    [{ type: SioType.CONNECT, nsp: "/" }, "0"],
    [{ type: SioType.DISCONNECT, nsp: "/" }, "1"],
    [{ type: SioType.EVENT, nsp: "/", data: ["heartbeat", { a: 1 }] }, '2["heartbeat",{"a":1}]'],
    [{ type: SioType.ACK, nsp: "/", id: 3, data: [{ ok: true }] }, '33[{"ok":true}]'],
    [{ type: SioType.ACK, nsp: "/", id: 0, data: [null] }, "30[null]"],
    [{ type: SioType.EVENT, nsp: "/admin", id: 1, data: ["x"] }, '2/admin,1["x"]'],
    [
      { type: SioType.EVENT, nsp: "/", data: ["d", new Date(0)] },
      '2["d","1970-01-01T00:00:00.000Z"]',
    ],
  ];
  for (const [p, want] of table) assert.deepEqual(encodeSio(p), [want], want);
});

Deno.test("sio: byte arrays go out as attachments and come back in place", () => {
  const a = bytes(1, 2, 3);
  const b = new Uint16Array([258]);
  const [text, ...bins] = encodeSio({
    type: SioType.ACK,
    nsp: "/",
    id: 5,
    data: [{ file: a, nested: [b] }],
  });
  assert.equal(
    text,
    '62-5[{"file":{"_placeholder":true,"num":0},"nested":[{"_placeholder":true,"num":1}]}]',
  );
  assert.deepEqual(bins, [a, bytes(2, 1)]);
  const d = new SioDecoder();
  assert.equal(d.add(text), null);
  assert.equal(d.add(bins[0]!), null);
  const p = d.add(bins[1]!);
  assert.deepEqual(p, {
    type: SioType.BINARY_ACK,
    nsp: "/",
    id: 5,
    data: [{ file: a, nested: [bytes(2, 1)] }],
  });
  // The decoder is ready for the next packet.
  assert.deepEqual(d.add('2["x"]'), { type: SioType.EVENT, nsp: "/", data: ["x"] });
  assert.throws(
    () => encodeSio({ type: SioType.CONNECT, nsp: "/", data: { a } }),
    TypeError,
  );
});

Deno.test("sio decoder: out-of-order frames and bad placeholders refused", () => {
  const d = new SioDecoder();
  assert.throws(() => d.add(bytes(1)), SyntaxError); // binary with nothing pending
  assert.equal(d.add('51-["f",{"_placeholder":true,"num":0}]'), null);
  assert.throws(() => d.add('2["x"]'), SyntaxError); // text while an attachment is due
  const e = new SioDecoder();
  assert.equal(e.add('51-["f",{"_placeholder":true,"num":3}]'), null);
  assert.throws(() => e.add(bytes(1)), SyntaxError);
  assert.throws(() => putBinary({ _placeholder: true, num: "0" }, [bytes(1)]), SyntaxError);
  let deep: unknown = { _placeholder: true, num: 0 };
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.throws(() => putBinary(deep, [bytes(1)]), RangeError);
});
