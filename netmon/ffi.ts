/**
 * The thin FFI edge: the only file that calls `Deno.dlopen`. It loads libc lazily (on the first
 * socket), and offers raw NETLINK_ROUTE sockets: send a request, read one datagram without
 * blocking, wait for readability without blocking the event loop, close.
 *
 * Waiting follows environment.md "Deno FFI and netlink": only `poll(2)` runs as a
 * `nonblocking: true` call (on a worker thread), on the netlink fd plus an eventfd; every other
 * call is synchronous on the main thread so that `errno` (per thread) is read right after it.
 * Closing writes the eventfd, which wakes the pending poll; the fds are closed only after it
 * returned, so no op is leaked and the process exits at once.
 *
 * Only `dlsym` is declared to `Deno.dlopen`; the functions netmon calls are looked up with it and
 * called through `Deno.UnsafeFnPointer`. Deno compiles a machine-code trampoline (Cranelift) for
 * every synchronous symbol `dlopen` declares, at `dlopen` time; that trampoline only serves V8's
 * optimized code, which netmon's few calls a second never reach, and bringing in the compiler
 * cost 1.5-2 MiB of resident memory. `UnsafeFnPointer` calls go through libffi on the calling
 * (main) thread, as the unoptimized path of a declared symbol does.
 *
 * @module
 */
import * as C from "./netlink_constants.ts";

/** The only symbol declared to `Deno.dlopen` (see the module doc). */
const LOADER = {
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer", nonblocking: true },
} as const;

/** What netmon calls in libc, looked up with `dlsym`. */
const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "pointer" },
} as const;

type Libc = { [K in keyof typeof SYMBOLS]: Deno.UnsafeFnPointer<typeof SYMBOLS[K]> };

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const SOCK_NONBLOCK = 0x800;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EFD_CLOEXEC = 0x80000;
const EFD_NONBLOCK = 0x800;
const POLLIN = 0x1;
const POLLERR = 0x8;
/** sizeof(struct sockaddr_nl): family u16, pad u16, pid u32, groups u32. */
const SOCKADDR_NL_LEN = 12;
/** sizeof(struct pollfd): fd i32, events i16, revents i16. */
const POLLFD_LEN = 8;
/** A poll that keeps failing at once (EBADF, EFAULT) would spin: give up after this many. */
const MAX_POLL_FAILURES = 100;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  22: "EINVAL",
  24: "EMFILE",
  93: "EPROTONOSUPPORT",
  97: "EAFNOSUPPORT",
  105: "ENOBUFS",
  111: "ECONNREFUSED",
};

/** Symbolic name of an errno value, e.g. `EPERM`, or `errno 77`. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A failed system call; `errno` lets callers branch. */
export class SyscallError extends Error {
  readonly errno: number;
  constructor(what: string, errno: number) {
    super(`${what}: ${errnoName(errno)}`);
    this.name = "SyscallError";
    this.errno = errno;
  }
}

/**
 * Candidate paths of the library that holds `dlsym`, this architecture's first: libc (glibc 2.34
 * and later, musl last for Alpine-based images), then glibc's libdl.so.2 (where older glibc keeps
 * `dlsym`).
 */
export function libcCandidates(arch: string): string[] {
  const triplet = arch === "aarch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  const dirs = [
    `/lib/${triplet}`,
    `/usr/lib/${triplet}`,
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
  ];
  return [
    ...dirs.map((d) => `${d}/libc.so.6`),
    `/lib/ld-musl-${arch}.so.1`,
    ...dirs.slice(0, 4).map((d) => `${d}/libdl.so.2`),
  ];
}

let loading: Promise<Libc> | null = null;

function libc(): Promise<Libc> {
  return loading ??= loadLibc();
}

async function loadLibc(): Promise<Libc> {
  const tried = libcCandidates(Deno.build.arch);
  let why = "none exists";
  for (const path of tried) {
    try {
      if (!Deno.statSync(path).isFile) continue;
    } catch {
      continue;
    }
    let dlsym: Deno.DynamicLibrary<typeof LOADER>["symbols"]["dlsym"];
    try {
      dlsym = Deno.dlopen(path, LOADER).symbols.dlsym;
    } catch (e) {
      why = `${path}: ${(e as Error).message}`; // glibc before 2.34: no dlsym in libc.so.6
      continue;
    }
    const out: Partial<Record<keyof typeof SYMBOLS, unknown>> = {};
    for (const name of Object.keys(SYMBOLS) as (keyof typeof SYMBOLS)[]) {
      // A null handle is RTLD_DEFAULT (glibc and musl): the libc this process already runs on.
      const ptr = await dlsym(null, new TextEncoder().encode(`${name}\0`));
      if (ptr === null) throw new Error(`Cannot load libc: no symbol ${name} (${path})`);
      out[name] = new Deno.UnsafeFnPointer(ptr as Deno.PointerObject<never>, SYMBOLS[name]);
    }
    return out as Libc;
  }
  throw new Error(`Cannot load libc (${tried.join(", ")}): ${why}`);
}

const errnoBuf = new Int32Array(1);

/** errno of the last synchronous call on this (the main) thread. */
function errno(lib: Libc): number {
  lib.memcpy.call(errnoBuf, lib.__errno_location.call(), 4n);
  return errnoBuf[0] ?? 0;
}

/** One datagram read, or why none was. */
export type RecvResult =
  | { kind: "data"; length: number; truncated: boolean }
  | { kind: "again" }
  | { kind: "overflow" };

/** A raw netlink socket, as seen by netlink_client.ts (and faked in its tests). */
export interface RawNetlinkSocket {
  /** Sends one request datagram to the kernel. */
  send(bytes: Uint8Array): void;
  /** Reads one datagram into `buf` without blocking. `overflow` = ENOBUFS, messages were lost. */
  recv(buf: Uint8Array): RecvResult;
  /** Resolves when the socket is readable, the timeout passed, or the socket is being closed. */
  wait(timeoutMs: number): Promise<"readable" | "timeout" | "closed">;
  /** Wakes a pending wait, then closes both fds. Idempotent. */
  close(): Promise<void>;
}

/** What {@linkcode openNetlinkSocket} did about the receive buffer. */
export interface OpenedSocket {
  socket: RawNetlinkSocket;
  /** The receive buffer size set, and whether SO_RCVBUFFORCE (root) worked. */
  rcvbuf: { bytes: number; forced: boolean };
}

/** Opens a NETLINK_ROUTE socket bound to `groups` (0 for a socket used only for dumps). */
export async function openNetlinkSocket(
  groups: number,
  rcvbufBytes: number,
): Promise<OpenedSocket> {
  const lib = await libc();
  const fd = lib.socket.call(C.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) throw new SyscallError("Cannot open netlink socket", errno(lib));
  const efd = lib.eventfd.call(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    const e = errno(lib);
    lib.close.call(fd);
    throw new SyscallError("Cannot create eventfd", e);
  }
  const fail = (what: string): never => {
    const e = errno(lib);
    lib.close.call(fd);
    lib.close.call(efd);
    throw new SyscallError(what, e);
  };
  const size = new Int32Array([rcvbufBytes]);
  let forced = true;
  if (lib.setsockopt.call(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) !== 0) {
    forced = false; // EPERM without CAP_NET_ADMIN: fall back to the capped SO_RCVBUF
    if (lib.setsockopt.call(fd, SOL_SOCKET, SO_RCVBUF, size, 4) !== 0) {
      fail("Cannot set netlink receive buffer");
    }
  }
  const addr = new Uint8Array(SOCKADDR_NL_LEN);
  const dv = new DataView(addr.buffer);
  dv.setUint16(0, C.AF_NETLINK, true);
  dv.setUint32(8, groups, true);
  if (lib.bind.call(fd, addr, SOCKADDR_NL_LEN) !== 0) fail("Cannot bind netlink socket");
  return { socket: new FfiSocket(lib, fd, efd), rcvbuf: { bytes: rcvbufBytes, forced } };
}

class FfiSocket implements RawNetlinkSocket {
  #closing = false;
  #closed = false;
  #pending: Promise<unknown> | null = null;

  constructor(readonly lib: Libc, readonly fd: number, readonly efd: number) {}

  send(bytes: Uint8Array): void {
    if (this.#closing) throw new Error("Cannot send on netlink socket: closed");
    const n = Number(this.lib.send.call(this.fd, bytes, BigInt(bytes.length), 0));
    if (n < 0) throw new SyscallError("Cannot send netlink request", errno(this.lib));
  }

  recv(buf: Uint8Array): RecvResult {
    if (this.#closing) return { kind: "again" };
    const n = Number(
      this.lib.recv.call(this.fd, buf, BigInt(buf.length), MSG_DONTWAIT | MSG_TRUNC),
    );
    if (n >= 0) return { kind: "data", length: Math.min(n, buf.length), truncated: n > buf.length };
    const e = errno(this.lib);
    if (e === C.EAGAIN || e === C.EINTR) return { kind: "again" };
    if (e === C.ENOBUFS) return { kind: "overflow" };
    throw new SyscallError("Cannot receive from netlink socket", e);
  }

  async wait(timeoutMs: number): Promise<"readable" | "timeout" | "closed"> {
    for (let failures = 0; !this.#closing;) {
      const fds = new Uint8Array(2 * POLLFD_LEN);
      const dv = new DataView(fds.buffer);
      dv.setInt32(0, this.fd, true);
      dv.setInt16(4, POLLIN, true);
      dv.setInt32(POLLFD_LEN, this.efd, true);
      dv.setInt16(POLLFD_LEN + 4, POLLIN, true);
      const call = this.lib.poll.call(fds, 2n, timeoutMs);
      this.#pending = call;
      const n = await call;
      this.#pending = null;
      if (this.#closing || dv.getInt16(POLLFD_LEN + 6, true) !== 0) return "closed";
      if (n === 0) return "timeout";
      if (n > 0 && (dv.getInt16(6, true) & (POLLIN | POLLERR)) !== 0) return "readable";
      // n < 0: EINTR from a signal delivered to the poll thread (its errno is not ours to read).
      if (n < 0 && ++failures > MAX_POLL_FAILURES) {
        throw new Error("Cannot wait on netlink socket: poll keeps failing");
      }
    }
    return "closed";
  }

  async close(): Promise<void> {
    if (this.#closing) {
      while (!this.#closed) await this.#pending;
      return;
    }
    this.#closing = true;
    this.lib.write.call(this.efd, new BigUint64Array([1n]), 8n);
    if (this.#pending) await this.#pending;
    this.lib.close.call(this.fd);
    this.lib.close.call(this.efd);
    this.#closed = true;
  }
}
