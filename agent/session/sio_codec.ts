/**
 * Engine.IO v4 and Socket.IO v5-protocol (the Socket.IO 4.x servers') packets over a WebSocket,
 * pure: frames in, typed packets out, and back. Written from the public protocol descriptions
 * (socket.io/docs/v4 "Engine.IO protocol" and "Socket.IO protocol"); no library code.
 *
 * Over a WebSocket each frame is one Engine.IO packet: a text frame is `<type digit><data>`
 * (0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop); a binary frame is a message
 * whose data is the bytes. A Socket.IO packet rides in an Engine.IO message:
 * `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, types 0 CONNECT, 1 DISCONNECT,
 * 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK. A binary packet's JSON holds
 * `{"_placeholder":true,"num":n}` in place of each byte array, which follow as n binary frames.
 *
 * Bad input throws `SyntaxError` (malformed) or `RangeError` (beyond a limit); the session treats
 * either as a broken stream and drops the link, as the npm client did ("parse error").
 *
 * @module
 */

/** Socket.IO packet types. */
export const SioType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;

/** One of {@linkcode SioType}. */
export type SioType = typeof SioType[keyof typeof SioType];

/** A decoded Socket.IO packet (binary attachments already put back in place). */
export interface SioPacket {
  /** Packet type. */
  type: SioType;
  /** Namespace, `/` by default. */
  nsp: string;
  /** Ack id (EVENT asking for an ack, ACK answering one). */
  id?: number;
  /** The JSON payload: the argument list of an EVENT or ACK, an object for CONNECT(_ERROR). */
  data?: unknown;
}

/** A decoded Engine.IO packet. */
export type EnginePacket =
  | { type: "open"; data: string }
  | { type: "close" }
  | { type: "ping"; data: string }
  | { type: "pong"; data: string }
  | { type: "message"; data: string | Uint8Array }
  | { type: "upgrade" }
  | { type: "noop" };

const ENGINE_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"] as const;

/** What the server's open packet says. */
export interface Handshake {
  /** Engine.IO session id. */
  sid: string;
  /** The server pings this often, ms. */
  pingInterval: number;
  /** ...and waits this long for the pong, ms. */
  pingTimeout: number;
  /** Largest packet the server accepts, bytes. */
  maxPayload: number;
}

/**
 * Largest ping interval + timeout accepted, ms: a timer longer than 2^31 - 1 ms fires at once
 * (setTimeout's limit), which would drop every link of a server with absurd settings.
 */
const MAX_PING_WINDOW_MS = 2 ** 31 - 1;

/**
 * Most binary attachments one packet may announce. The agent's protocol is JSON only (files come
 * base64-encoded, protocol.md §3), so any number would do for correctness; a bound keeps a broken
 * server from making the session hold an unbounded run of frames for one packet.
 */
export const MAX_ATTACHMENTS = 16;

/** Engine.IO maxPayload when the open packet omits it: the servers' default (1e6 bytes). */
const DEFAULT_MAX_PAYLOAD = 1_000_000;

/** Decodes one WebSocket frame as an Engine.IO packet. */
export function decodeEngine(frame: string | ArrayBuffer | Uint8Array): EnginePacket {
  if (typeof frame !== "string") {
    return { type: "message", data: frame instanceof Uint8Array ? frame : new Uint8Array(frame) };
  }
  const type = ENGINE_TYPES[frame.charCodeAt(0) - 48];
  if (frame.length === 0 || type === undefined) {
    throw new SyntaxError(
      `Cannot decode Engine.IO packet: unknown type ${JSON.stringify(frame[0])}`,
    );
  }
  const data = frame.slice(1);
  switch (type) {
    case "open":
    case "ping":
    case "pong":
    case "message":
      return { type, data };
    default:
      return { type };
  }
}

/** Parses the data of the open packet (`0{"sid":...}`). */
export function parseHandshake(data: string): Handshake {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw new SyntaxError("Cannot parse Engine.IO handshake: not JSON");
  }
  const o = (v ?? {}) as Record<string, unknown>;
  const ms = (k: string) => {
    const n = o[k];
    if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) {
      throw new SyntaxError(`Cannot parse Engine.IO handshake: ${k} is not a positive number`);
    }
    return n;
  };
  if (typeof o.sid !== "string" || o.sid === "") {
    throw new SyntaxError("Cannot parse Engine.IO handshake: sid is missing");
  }
  const pingInterval = ms("pingInterval");
  const pingTimeout = ms("pingTimeout");
  if (pingInterval + pingTimeout > MAX_PING_WINDOW_MS) {
    throw new RangeError(
      `Cannot use Engine.IO handshake: pingInterval + pingTimeout ${
        pingInterval + pingTimeout
      } ms is over ${MAX_PING_WINDOW_MS}`,
    );
  }
  const maxPayload = o.maxPayload === undefined ? DEFAULT_MAX_PAYLOAD : ms("maxPayload");
  return { sid: o.sid, pingInterval, pingTimeout, maxPayload };
}

/** The Engine.IO pong frame (answers a ping; the server's ping carries no data). */
export const PONG = "3";

/** The Engine.IO close frame. */
export const CLOSE = "1";

/** The Engine.IO message type: a Socket.IO packet's text goes out as `4<text>`. */
export const MESSAGE = "4";

/**
 * Encodes a Socket.IO packet: its text (to send as an Engine.IO message, `4<text>`), then the
 * bytes of its attachments (each sent as a binary frame). Byte arrays in the data make an EVENT
 * a BINARY_EVENT and an ACK a BINARY_ACK.
 */
export function encodeSio(p: SioPacket): [string, ...Uint8Array[]] {
  const buffers: Uint8Array[] = [];
  // The agent's packets carry no bytes: walk them once without copying (an ack can hold
  // thousands of samples), and build the placeholder copy only when there are bytes.
  const data = p.data !== undefined && hasBinary(p.data, 0)
    ? takeBinary(p.data, buffers, 0)
    : p.data;
  let type: SioType = p.type;
  if (buffers.length > 0) {
    if (p.type === SioType.EVENT) type = SioType.BINARY_EVENT;
    else if (p.type === SioType.ACK) type = SioType.BINARY_ACK;
    else throw new TypeError(`Cannot encode Socket.IO packet type ${p.type} with binary data`);
  }
  let s = `${type}`;
  if (buffers.length > 0) s += `${buffers.length}-`;
  if (p.nsp !== "/") s += `${p.nsp},`;
  if (p.id !== undefined) s += String(p.id);
  if (data !== undefined) s += JSON.stringify(data);
  return [s, ...buffers];
}

/** Nesting depth beyond which binary search gives up: the agent's acks are a few levels deep. */
const MAX_DEPTH = 64;

/** Whether `v` holds a byte array anywhere (what JSON would not carry). */
function hasBinary(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== "object") return false;
  if (depth > MAX_DEPTH) {
    throw new RangeError(`Cannot encode Socket.IO data nested over ${MAX_DEPTH}`);
  }
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return true;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return false; // a Date: JSON's
  if (Array.isArray(v)) {
    for (const x of v) if (hasBinary(x, depth + 1)) return true;
    return false;
  }
  for (const k in v) {
    if (Object.hasOwn(v, k) && hasBinary((v as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

/** A copy of `v` with each byte array replaced by a placeholder (pushed to `out`). */
function takeBinary(v: unknown, out: Uint8Array[], depth: number): unknown {
  if (v === null || typeof v !== "object" || !hasBinary(v, depth)) return v;
  if (v instanceof ArrayBuffer) v = new Uint8Array(v);
  if (ArrayBuffer.isView(v)) {
    out.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    return { _placeholder: true, num: out.length - 1 };
  }
  if (Array.isArray(v)) return v.map((x) => takeBinary(x, out, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as object)) copy[k] = takeBinary(x, out, depth + 1);
  return copy;
}

/**
 * Reads a Socket.IO packet from an Engine.IO message's text. For a binary packet, `attachments`
 * is how many binary frames follow; {@linkcode SioDecoder} puts them in place.
 */
export function decodeSio(text: string): SioPacket & { attachments: number } {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot decode Socket.IO packet: ${why}`);
  };
  const type = text.charCodeAt(0) - 48;
  if (!(type >= 0 && type <= 6)) fail(`unknown type ${JSON.stringify(text[0] ?? "")}`);
  let i = 1;
  let attachments = 0;
  if (type === SioType.BINARY_EVENT || type === SioType.BINARY_ACK) {
    const dash = text.indexOf("-", i);
    const count = text.slice(i, dash);
    if (dash < 0 || !/^\d{1,3}$/.test(count)) fail("attachment count missing");
    attachments = Number(count);
    if (attachments > MAX_ATTACHMENTS) {
      throw new RangeError(
        `Cannot decode Socket.IO packet: ${attachments} attachments, over ${MAX_ATTACHMENTS}`,
      );
    }
    i = dash + 1;
  }
  let nsp = "/";
  if (text[i] === "/") {
    const comma = text.indexOf(",", i);
    nsp = comma < 0 ? text.slice(i) : text.slice(i, comma);
    i = comma < 0 ? text.length : comma + 1;
  }
  let j = i;
  while (j < text.length && j - i < 16 && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
  const id = j > i ? Number(text.slice(i, j)) : undefined;
  if (id !== undefined && !Number.isSafeInteger(id)) fail("ack id too large");
  let data: unknown;
  if (j < text.length) {
    try {
      data = JSON.parse(text.slice(j));
    } catch {
      fail("payload is not JSON");
    }
  }
  const p: SioPacket & { attachments: number } = { type: type as SioType, nsp, attachments };
  if (id !== undefined) p.id = id;
  if (data !== undefined) p.data = data;
  checkShape(p, fail);
  return p;
}

/** What each type's payload must look like. */
function checkShape(p: SioPacket, fail: (why: string) => never): void {
  const d = p.data;
  switch (p.type) {
    case SioType.CONNECT:
      if (d !== undefined && (d === null || typeof d !== "object" || Array.isArray(d))) {
        fail("CONNECT payload is not an object");
      }
      return;
    case SioType.DISCONNECT:
      if (d !== undefined) fail("DISCONNECT carries a payload");
      return;
    case SioType.CONNECT_ERROR:
      // v5 sends {message, data?}; a bare string is the v4 form.
      if (typeof d !== "string" && (d === null || typeof d !== "object" || Array.isArray(d))) {
        fail("CONNECT_ERROR payload is not an object");
      }
      return;
    case SioType.EVENT:
    case SioType.BINARY_EVENT:
      if (!Array.isArray(d) || typeof d[0] !== "string") fail("EVENT payload is not [name, ...]");
      return;
    case SioType.ACK:
    case SioType.BINARY_ACK:
      if (!Array.isArray(d)) fail("ACK payload is not an array");
      if (p.id === undefined) fail("ACK without an id");
      return;
  }
}

/** Puts the binary frames back where the placeholders stand. */
export function putBinary(v: unknown, buffers: Uint8Array[], depth = 0): unknown {
  if (v === null || typeof v !== "object") return v;
  if (depth > MAX_DEPTH) {
    throw new RangeError(`Cannot decode Socket.IO packet: nested over ${MAX_DEPTH}`);
  }
  if (Array.isArray(v)) return v.map((x) => putBinary(x, buffers, depth + 1));
  const o = v as Record<string, unknown>;
  if (o._placeholder === true) {
    const b = typeof o.num === "number" ? buffers[o.num] : undefined;
    if (b === undefined) {
      throw new SyntaxError(`Cannot decode Socket.IO packet: no attachment ${String(o.num)}`);
    }
    return b;
  }
  const copy: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) copy[k] = putBinary(x, buffers, depth + 1);
  return copy;
}

/**
 * Turns Engine.IO message data into Socket.IO packets, holding a binary packet until its
 * attachments have arrived. State is only the pending packet; no I/O.
 */
export class SioDecoder {
  #pending: (SioPacket & { attachments: number }) | null = null;
  #buffers: Uint8Array[] = [];

  /** Feeds one message; returns the completed packet, or null while attachments are due. */
  add(data: string | Uint8Array): SioPacket | null {
    if (typeof data === "string") {
      if (this.#pending) {
        throw new SyntaxError("Cannot decode Socket.IO packet: text while attachments are due");
      }
      const p = decodeSio(data);
      if (p.attachments === 0) return strip(p);
      this.#pending = p;
      this.#buffers = [];
      return null;
    }
    const p = this.#pending;
    if (!p) throw new SyntaxError("Cannot decode Socket.IO packet: binary frame without a packet");
    this.#buffers.push(data);
    if (this.#buffers.length < p.attachments) return null;
    const buffers = this.#buffers;
    this.#pending = null;
    this.#buffers = [];
    return strip({ ...p, data: putBinary(p.data, buffers) });
  }
}

function strip(p: SioPacket & { attachments: number }): SioPacket {
  const { attachments: _, ...rest } = p;
  return rest;
}
