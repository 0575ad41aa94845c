/**
 * The narrow I/O ports of the LAN modules and their real adapters: commands inside a runtime's
 * network namespace (`nsenter -t <pid> -n`, the only program the agent may run besides `df`),
 * and the runtime's resolv.conf through `/proc/<pid>/root`.
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

/**
 * The real resolv.conf port: the container's `/etc/resolv.conf` seen through `/proc/<pid>/root`,
 * read and written by busybox sh through nsenter (Deno grants /proc/<pid> only with
 * --allow-all). The shell's `>` truncates the file in place: Docker bind-mounts that inode.
 */
export function shellResolv(runner: NetnsRunner, busybox = "/bin/busybox"): ResolvPort {
  return {
    async read(pid) {
      return await runner.run(pid, [busybox, "cat", `/proc/${pid}/root/etc/resolv.conf`])
        .catch(() => null);
    },
    async write(pid, text) {
      await runner.run(pid, [
        busybox,
        "sh",
        "-c",
        `printf '%s' "$2" > "/proc/$1/root/etc/resolv.conf"`,
        busybox,
        String(pid),
        text,
      ]);
    },
  };
}
