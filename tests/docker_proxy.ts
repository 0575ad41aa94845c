/**
 * A Unix-socket proxy in front of the real Docker engine, for fault tests: it can be absent (the
 * engine "does not answer yet"), and it can kill the agent right before or right after its N-th
 * call that changes something (POST, PUT, DELETE), so a test stops the agent at every step of an
 * operation without any hook inside the agent.
 *
 * @module
 */

/** Where to kill: before the N-th changing call reaches Docker, or after Docker answered it. */
export interface KillPoint {
  /** 1-based index of the changing call, counted from `arm`. */
  call: number;
  /** `before`: the call never reaches Docker; `after`: the answer reaches the agent first. */
  when: "before" | "after";
  /** Kills the agent (SIGKILL). */
  kill: () => void;
}

/** A request line at the start of the stream or after a CRLF (several requests may share a
 * chunk on a kept-alive connection). */
const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.[01]\r\n/g;

/** The proxy. */
export class DockerProxy {
  #path: string;
  #upstream: string;
  #listener: Deno.UnixListener | null = null;
  #conns = new Set<Deno.Conn>();
  #armed: KillPoint | null = null;
  #count = 0;
  /** Changing calls seen since `arm` (method and path), for the test's log. */
  readonly calls: string[] = [];

  /** A proxy that will listen on `path` and forward to `upstream`. */
  constructor(path: string, upstream = "/var/run/docker.sock") {
    this.#path = path;
    this.#upstream = upstream;
  }

  /** Starts listening (the engine "answers" from now on). */
  start(): void {
    try {
      Deno.removeSync(this.#path);
    } catch { /* not there */ }
    this.#listener = Deno.listen({ transport: "unix", path: this.#path });
    void this.#accept(this.#listener);
  }

  /** Kills the agent at a point of the changing calls from now on. */
  arm(point: KillPoint): void {
    this.#armed = point;
    this.#count = 0;
    this.calls.length = 0;
  }

  /** Forwards without killing. */
  disarm(): void {
    this.#armed = null;
  }

  /** Changing calls counted since `arm`. */
  get count(): number {
    return this.#count;
  }

  /** Stops listening and closes every connection. */
  stop(): void {
    this.#listener?.close();
    this.#listener = null;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
  }

  async #accept(listener: Deno.UnixListener): Promise<void> {
    try {
      for await (const client of listener) void this.#serve(client);
    } catch { /* closed */ }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ transport: "unix", path: this.#upstream });
    } catch {
      client.close();
      return;
    }
    this.#conns.add(client);
    this.#conns.add(upstream);
    const pending: { kill: (() => void) | null } = { kill: null };
    const close = () => {
      for (const c of [client, upstream]) {
        try {
          c.close();
        } catch { /* closed */ }
        this.#conns.delete(c);
      }
    };
    const down = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await upstream.read(buf).catch(() => null);
        if (n === null) break;
        await writeAll(client, buf.subarray(0, n)).catch(() => {});
        const k = pending.kill;
        if (k) {
          pending.kill = null;
          k();
        }
      }
    })();
    const up = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await client.read(buf).catch(() => null);
        if (n === null) break;
        const chunk = buf.subarray(0, n);
        const text = new TextDecoder("latin1").decode(chunk);
        let stop = false;
        for (const m of text.matchAll(REQUEST_LINE)) {
          if (m[1] === "GET" || m[1] === "HEAD" || !this.#armed) continue;
          this.#count++;
          this.calls.push(`${m[1]} ${m[2]!.split("?")[0]}`);
          const point = this.#armed;
          if (this.#count === point.call) {
            this.#armed = null;
            if (point.when === "before") {
              point.kill();
              stop = true;
              break;
            }
            pending.kill = point.kill;
          }
        }
        if (stop) break;
        const ok = await writeAll(upstream, chunk).then(() => true, () => false);
        if (!ok) break;
      }
    })();
    await Promise.race([up, down]);
    close();
    await Promise.allSettled([up, down]);
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
