/**
 * The narrow I/O ports of the LAN modules and their real adapters: commands inside a runtime's
 * network namespace (`nsenter -t <pid> -n`, the only program the agent may run besides `df`),
 * process facts from `/proc`, and the runtime's resolv.conf through `/proc/<pid>/root`.
 *
 * @module
 */

/** A long-running process started in a namespace. */
export interface SpawnedProcess {
  pid: number;
  /** Resolves with the exit code when it ends. */
  status: Promise<number>;
  kill(signal: Deno.Signal): void;
}

/** Runs programs inside the network namespace of a process. */
export interface NetnsRunner {
  /** Runs `argv` to completion; resolves stdout, rejects with stderr on a non-zero exit. */
  run(pid: number, argv: string[]): Promise<string>;
  /** Starts `argv` detached from our stdio (it may outlive the agent). */
  spawn(pid: number, argv: string[], env: Record<string, string>): SpawnedProcess;
}

/** Facts about processes, from `/proc`. */
export interface ProcPort {
  /** Field 22 of `/proc/<pid>/stat` (start time, tells a reused pid apart), or null if gone. */
  startTime(pid: number): Promise<string | null>;
  /** The `net:[inode]` of `/proc/<pid>/ns/net`, or null if gone. */
  netns(pid: number): Promise<string | null>;
  /** NUL-separated argv joined by spaces, or null if gone. */
  cmdline(pid: number): Promise<string | null>;
}

/** A runtime's resolv.conf. */
export interface ResolvPort {
  read(pid: number): Promise<string | null>;
  /** Writes in place (same inode: Docker bind-mounts the file into the container). */
  write(pid: number, text: string): Promise<void>;
}

/** The real runner: `nsenter -t <pid> -n <argv>` (nsenter execs, so the child pid is argv[0]'s). */
export const nsenterRunner: NetnsRunner = {
  async run(pid, argv) {
    const out = await new Deno.Command("nsenter", {
      args: ["-t", String(pid), "-n", ...argv],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim();
      throw new Error(`Cannot run ${argv.join(" ")} in the namespace of pid ${pid}: ${err}`);
    }
    return new TextDecoder().decode(out.stdout);
  },
  spawn(pid, argv, env) {
    // stdio is "null": a pipe to the agent would kill the client with SIGPIPE once the agent is
    // gone, and the client must keep the lease while the agent restarts. Events come via files.
    const child = new Deno.Command("nsenter", {
      args: ["-t", String(pid), "-n", ...argv],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    return {
      pid: child.pid,
      status: child.status.then((s) => s.code),
      kill: (sig) => {
        try {
          child.kill(sig);
        } catch { /* already gone */ }
      },
    };
  },
};

/** The real `/proc` reader. */
export const procfs: ProcPort = {
  async startTime(pid) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      // The command name (field 2) may hold spaces and parentheses: count after the last ")".
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
    } catch {
      return null;
    }
  },
  async netns(pid) {
    try {
      return await Deno.readLink(`/proc/${pid}/ns/net`);
    } catch {
      return null;
    }
  },
  async cmdline(pid) {
    try {
      return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").join(" ").trim();
    } catch {
      return null;
    }
  },
};

/** The real resolv.conf port: the container's `/etc/resolv.conf` seen through its root. */
export const procResolv: ResolvPort = {
  async read(pid) {
    try {
      return await Deno.readTextFile(`/proc/${pid}/root/etc/resolv.conf`);
    } catch {
      return null;
    }
  },
  async write(pid, text) {
    // writeTextFile truncates and writes the existing file: the bind mount keeps pointing at it.
    await Deno.writeTextFile(`/proc/${pid}/root/etc/resolv.conf`, text, { create: false });
  },
};
