/**
 * The Unix socket server: JSON lines out (events, replies), commands in. A slow or dead client
 * never blocks the others: each has its own bounded queue and is dropped when it overflows.
 *
 * @module
 */
import type { NetmonEvent } from "../contracts/mod.ts";
import { errorReply, okReply, readCommand, type Supported } from "./commands.ts";
import type { Logger } from "./log.ts";

/**
 * 1 MiB per client: about 500 discoveries or 1000s of changes. A client that let this much pile
 * up (on top of the ~200 KiB the kernel buffers for the socket) is not reading; drop it.
 */
export const MAX_CLIENT_QUEUE_BYTES = 1024 * 1024;
/** 64 KiB: a command is a few dozen bytes; anything this long is not a command. */
export const MAX_LINE_BYTES = 64 * 1024;
/**
 * 4 KiB reads: commands are a few dozen bytes. Reading with `conn.read` rather than
 * `conn.readable` keeps Deno's streams implementation, which it loads on first use, out of
 * netmon's memory (see docs/decisions/0002-permissions.md).
 */
const READ_CHUNK_BYTES = 4096;
/** Socket mode: owner and group (the agent's) read/write, nobody else (protocol.md §6). */
export const SOCKET_MODE = 0o660;

/** What the server asks of the rest of netmon. */
export interface ServerDeps {
  path: string;
  log: Logger;
  discovery: () => NetmonEvent;
  /** Runs a command; resolves with its result (reply shaping is the server's, commands.ts). */
  run: (command: Supported) => Promise<Record<string, unknown>>;
  maxQueueBytes?: number;
}

const encoder = new TextEncoder();

class Client {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  closed = false;

  constructor(readonly id: number, readonly conn: Deno.UnixConn, readonly server: SocketServer) {}

  send(value: unknown): void {
    if (this.closed) return;
    const bytes = encoder.encode(JSON.stringify(value) + "\n");
    if (this.#queued + bytes.length > this.server.maxQueueBytes) {
      this.server.drop(this, `not reading (over ${this.server.maxQueueBytes} bytes queued)`);
      return;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#writing) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.closed) {
        const chunk = this.#queue[0]!;
        const n = await this.conn.write(chunk);
        this.#queued -= n;
        if (n === chunk.length) this.#queue.shift();
        else this.#queue[0] = chunk.subarray(n);
      }
    } catch (e) {
      this.server.drop(this, `write failed: ${(e as Error).message}`);
    } finally {
      this.#writing = false;
    }
  }
}

/** See the module doc. */
export class SocketServer {
  #listener: Deno.UnixListener | null = null;
  #clients = new Set<Client>();
  #nextId = 1;
  readonly maxQueueBytes: number;
  clientsDropped = 0;

  constructor(readonly deps: ServerDeps) {
    this.maxQueueBytes = deps.maxQueueBytes ?? MAX_CLIENT_QUEUE_BYTES;
  }

  /** Number of connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Replaces a stale socket file, listens, chmods; then accepts in the background. */
  async listen(): Promise<void> {
    const { path } = this.deps;
    const dir = path.slice(0, path.lastIndexOf("/"));
    // Synchronous file calls, once at start: Deno runs the async ones on a thread pool.
    if (dir) Deno.mkdirSync(dir, { recursive: true });
    await removeStale(path);
    this.#listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, SOCKET_MODE);
    void this.#accept(this.#listener);
  }

  async #accept(listener: Deno.UnixListener): Promise<void> {
    try {
      for await (const conn of listener) {
        const client = new Client(this.#nextId++, conn, this);
        this.#clients.add(client);
        this.deps.log.debug(`Client ${client.id} connected (${this.#clients.size} now)`);
        client.send(this.deps.discovery());
        void this.#read(client);
      }
    } catch (e) {
      if (this.#listener) this.deps.log.error(`Cannot accept clients: ${(e as Error).message}`);
    }
  }

  async #read(client: Client): Promise<void> {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(READ_CHUNK_BYTES);
    let pending = "";
    try {
      for (;;) {
        const n = await client.conn.read(buf);
        if (n === null) break;
        pending += decoder.decode(buf.subarray(0, n), { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) !== -1) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== "") await this.#answer(client, line);
        }
        if (pending.length > MAX_LINE_BYTES) {
          client.send(
            errorReply(
              { command: null, shape: "typed" },
              `Cannot read command: over ${MAX_LINE_BYTES} bytes`,
            ),
          );
          pending = "";
        }
      }
    } catch {
      // reset by the peer, or closed by drop(): either way the client is gone
    }
    this.drop(client, null);
  }

  /** Answers one line at once, in the shape its sender reads (commands.ts, README "Replies"). */
  async #answer(client: Client, line: string): Promise<void> {
    const read = readCommand(line);
    if (read.kind === "error") {
      this.deps.log.debug(`Client ${client.id}: ${read.error}`);
      client.send(errorReply(read, read.error));
      return;
    }
    try {
      client.send(okReply(read, await this.deps.run(read.command)));
    } catch (e) {
      client.send(errorReply(read, (e as Error).message));
    }
  }

  /** Sends an event to every client. */
  broadcast(event: NetmonEvent): void {
    for (const c of this.#clients) c.send(event);
  }

  /** Forgets a client and closes its connection; `reason` null means it left by itself. */
  drop(client: Client, reason: string | null): void {
    if (client.closed) return;
    client.closed = true;
    this.#clients.delete(client);
    try {
      client.conn.close();
    } catch { /* already closed */ }
    if (reason === null) {
      this.deps.log.debug(`Client ${client.id} disconnected (${this.#clients.size} left)`);
    } else {
      this.clientsDropped++;
      this.deps.log.warning(`Dropped client ${client.id}: ${reason}`);
    }
  }

  /** Stops listening, closes every client and removes the socket file. */
  close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = null;
    listener?.close();
    for (const c of [...this.#clients]) this.drop(c, null);
    try {
      Deno.removeSync(this.deps.path);
    } catch { /* already gone */ }
    return Promise.resolve();
  }
}

/** Removes a leftover socket file; refuses a live one (another netmon) or a non-socket. */
async function removeStale(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (!info.isSocket) throw new Error(`Cannot listen on ${path}: exists and is not a socket`);
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new Error(`Cannot listen on ${path}: another netmon is serving it`);
  } catch (e) {
    if (!(e instanceof Deno.errors.ConnectionRefused) && !(e instanceof Deno.errors.NotFound)) {
      throw e;
    }
  }
  Deno.removeSync(path);
}
