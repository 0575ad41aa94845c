/**
 * Helpers of the `netns_` tier: a throw-away network namespace, netmon running inside it, and a
 * JSON-lines client of its socket. Needs root and iproute2.
 *
 * @module
 */
import { NetmonEvent, NetmonPlainReply, NetmonReply } from "../contracts/mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Whether this process may create namespaces; the reason to skip otherwise. */
export function rootSkipReason(): string | null {
  if (Deno.build.os !== "linux") return "netns tests need Linux";
  return Deno.uid() === 0 ? null : "netns tests need root (ip netns add): skipped";
}

/** A network namespace named `eo-nm-<random>`, removed by `destroy` with everything in it. */
export class Netns {
  private constructor(readonly name: string) {}

  static async create(): Promise<Netns> {
    const ns = new Netns(`eo-nm-${crypto.randomUUID().slice(0, 8)}`);
    await run("ip", "netns", "add", ns.name);
    await ns.ip("link", "set", "lo", "up");
    return ns;
  }

  /** `ip -n NS ...`; throws with ip's stderr on failure. */
  ip(...args: string[]): Promise<void> {
    return run("ip", "-n", this.name, ...args);
  }

  /** `ip -n NS -batch -` with these lines. */
  async batch(lines: string[]): Promise<void> {
    const child = new Deno.Command("ip", {
      args: ["-n", this.name, "-batch", "-"],
      stdin: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
    await w.close();
    const out = await child.output();
    if (!out.success) throw new Error(`ip -batch failed: ${new TextDecoder().decode(out.stderr)}`);
  }

  /** A veth `name` (UP when `up`) whose peer `veth-<name>` is UP and filtered out by netmon. */
  async veth(name: string, mac: string, up = true): Promise<void> {
    await this.ip(
      "link",
      "add",
      name,
      "address",
      mac,
      "type",
      "veth",
      "peer",
      "name",
      `veth-${name}`,
    );
    await this.ip("link", "set", `veth-${name}`, "up");
    if (up) await this.ip("link", "set", name, "up");
  }

  /** Deletes the namespace (its veths go with it). */
  async destroy(): Promise<void> {
    await new Deno.Command("ip", { args: ["netns", "del", this.name] }).output();
  }
}

async function run(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Cannot run ${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** netmon's permission flags, from the one place they live. */
export function netmonFlags(): string[] {
  const perms = JSON.parse(Deno.readTextFileSync(`${ROOT}permissions.json`));
  return perms.netmon.flags;
}

/** netmon as a real process: inside namespace `ns`, or in the host namespace when `ns` is null. */
export class NetmonProcess {
  log = "";
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;

  constructor(
    ns: Netns | null,
    readonly socket: string,
    debounceMs: number,
    extraArgs: string[] = [],
  ) {
    const netmon = [
      Deno.execPath(),
      "run",
      ...netmonFlags(),
      `${ROOT}netmon/main.ts`,
      "--socket",
      socket,
      "--debounce",
      String(debounceMs),
      "--log-level",
      "DEBUG",
      ...extraArgs,
    ];
    // `ip netns exec` execs deno, so the child is netmon itself either way.
    const [cmd, ...args] = ns ? ["ip", "netns", "exec", ns.name, ...netmon] : netmon;
    this.#child = new Deno.Command(cmd!, { args, stdout: "piped", stderr: "piped" }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) this.log += t;
    };
    this.#done = Promise.all([collect(this.#child.stdout), collect(this.#child.stderr)]).then();
  }

  /** The process id (ip execs deno, so this is netmon itself). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends `signal` (SIGTERM by default) and waits for the exit; returns the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.#child.status;
    await this.#done;
    return status.code;
  }
}

/** A client of netmon's socket that reads every line into a queue. */
export class NetmonClient {
  readonly lines: unknown[] = [];
  #buf = "";
  #wake: (() => void) | null = null;
  readonly #reading: Promise<void>;

  private constructor(readonly conn: Deno.UnixConn) {
    this.#reading = this.#read();
  }

  /** Connects, retrying until netmon listens (up to `timeoutMs`). */
  static async connect(path: string, timeoutMs = 15_000): Promise<NetmonClient> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        return new NetmonClient(await Deno.connect({ transport: "unix", path }));
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async #read(): Promise<void> {
    try {
      for await (const chunk of this.conn.readable.pipeThrough(new TextDecoderStream())) {
        this.#buf += chunk;
        let nl;
        while ((nl = this.#buf.indexOf("\n")) !== -1) {
          this.lines.push(JSON.parse(this.#buf.slice(0, nl)));
          this.#buf = this.#buf.slice(nl + 1);
        }
        this.#wake?.();
      }
    } catch { /* closed */ }
  }

  #nextId = 1;

  /**
   * Sends one JSON line (or a raw string, exactly). An object command without `id` gets one, so
   * netmon answers with our typed reply (see `reply`); send a string to get the original's
   * untyped shape (see `plainReply`, netmon/README.md "Replies").
   */
  async send(value: unknown): Promise<void> {
    const withId = typeof value === "object" && value !== null && !("id" in value)
      ? { ...value, id: this.#nextId++ }
      : value;
    const line = typeof withId === "string" ? withId : JSON.stringify(withId);
    await this.conn.write(new TextEncoder().encode(line + "\n"));
  }

  /** Removes and returns the first line matching `pred`, waiting up to `timeoutMs`. */
  async next<T = unknown>(pred: (v: unknown) => boolean, timeoutMs: number): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex(pred);
      if (i !== -1) return this.lines.splice(i, 1)[0] as T;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`No matching line within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#wake = r;
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
  }

  /** The next event (validated against the contract). */
  async event(timeoutMs: number): Promise<NetmonEvent> {
    return NetmonEvent.parse(await this.next((v) => isEvent(v), timeoutMs));
  }

  /** The next reply (validated against the contract). */
  async reply(timeoutMs = 5000): Promise<NetmonReply> {
    return NetmonReply.parse(
      await this.next((v) => (v as { type?: string }).type === "reply", timeoutMs),
    );
  }

  /** The next reply in the original's untyped shape `{success, ...}` (validated). */
  async plainReply(timeoutMs = 5000): Promise<NetmonPlainReply> {
    return NetmonPlainReply.parse(
      await this.next((v) =>
        typeof (v as { success?: unknown }).success === "boolean" &&
        !("type" in (v as object)), timeoutMs),
    );
  }

  /** Every event received so far, removed from the queue. */
  drainEvents(): NetmonEvent[] {
    const out: NetmonEvent[] = [];
    for (let i = this.lines.findIndex(isEvent); i !== -1; i = this.lines.findIndex(isEvent)) {
      out.push(NetmonEvent.parse(this.lines.splice(i, 1)[0]));
    }
    return out;
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    await this.#reading;
  }
}

function isEvent(v: unknown): boolean {
  const t = (v as { type?: string }).type;
  return t === "network_discovery" || t === "network_change";
}
