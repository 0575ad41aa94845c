/**
 * The logger interface every agent module receives (injected), a console implementation, and the
 * file-backed logger of the composition root: stdout at the chosen level, plus
 * `<state-dir>/logs/orchestrator-logs-YYYY-MM-DD.log` at the chosen level and
 * `<state-dir>/debug/orchestrator-debug-YYYY-MM-DD.log` at DEBUG (optional). Files switch at local
 * midnight, are appended to (never truncated on restart), and only the last `keepDays` are kept.
 * Each file is capped in size (a full one continues in `...-YYYY-MM-DD.1.log`, `.2.log`, ...) and
 * each directory in total (oldest files first), so a chatty failure cannot fill the disk that
 * runtimes and pinned state live on. A file that cannot be opened (full or read-only disk,
 * directory removed) is reported on stdout and retried every minute, never silently dropped.
 * Text that may come from the cloud (topic names, ids, error texts) is escaped: no control
 * character, ANSI sequence or line break from outside reaches a terminal or splits a line.
 * Why our own and not a library: docs/decisions/0004-logging.md.
 *
 * @module
 */

/** Log levels of interfaces.md, in increasing severity. */
export const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** One of {@linkcode LEVELS}. */
export type Level = typeof LEVELS[number];

/** What modules log through. `fields` are appended as `key=value`. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (for unit tests that are not about logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Days of log files kept: two weeks covers a support case opened after a long weekend. */
export const DEFAULT_KEEP_DAYS = 14;
/** Largest log file: 10 MiB (a busy day at INFO is ~1 MiB); beyond, the file rolls over. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 2 ** 20;
/** Largest total per directory: 100 MiB, a bounded share of a small edge box's disk. */
export const DEFAULT_MAX_TOTAL_BYTES = 100 * 2 ** 20;
/** A log file that could not be opened or written is tried again after a minute. */
export const REOPEN_AFTER_MS = 60_000;

/**
 * Escapes characters that would corrupt a log line or a terminal: C0/C1 controls (ESC starts ANSI
 * sequences), DEL, and the Unicode line and paragraph separators. Pure.
 */
export function escapeText(s: string): string {
  // deno-lint-ignore no-control-regex -- control characters are what is escaped
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** Formats one line. Pure. Fields whose value has spaces are JSON-quoted; all text escaped. */
export function formatLine(
  at: Date,
  level: Level,
  message: string,
  fields?: Record<string, unknown>,
): string {
  let line = `${at.toISOString()} ${level} ${escapeText(message)}`;
  for (const [k, v] of Object.entries(fields ?? {})) {
    let s: string;
    try {
      s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v); // a cycle or a BigInt: still one line
    }
    line += ` ${escapeText(k)}=${/[\s"]/.test(s) ? JSON.stringify(s) : escapeText(s)}`;
  }
  return line;
}

/** Local calendar day `YYYY-MM-DD` of a date. Pure. */
export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** `<prefix>-YYYY-MM-DD.log` or `<prefix>-YYYY-MM-DD.<n>.log`; group 1 is the day. */
const fileRe = (prefix: string) =>
  new RegExp(`^${prefix}-(\\d{4}-\\d{2}-\\d{2})(?:\\.\\d+)?\\.log$`);

/** Names of files in a listing that are older than `keepDays` days before `today`. Pure. */
export function expiredLogs(
  names: string[],
  prefix: string,
  today: string,
  keepDays: number,
): string[] {
  const cutoff = Date.parse(`${today}T00:00:00Z`) - (keepDays - 1) * 86_400_000;
  const re = fileRe(prefix);
  return names.filter((n) => {
    const m = re.exec(n);
    return m !== null && Date.parse(`${m[1]}T00:00:00Z`) < cutoff;
  });
}

/**
 * Files of a directory to remove, oldest first, so that the total stays under `maxTotal` bytes;
 * `keep` (the file being written) is never chosen. Pure.
 */
export function overBudget(
  files: { name: string; size: number; mtime: number }[],
  maxTotal: number,
  keep: string,
): string[] {
  let total = files.reduce((n, f) => n + f.size, 0);
  const out: string[] = [];
  const sorted = [...files].sort((x, y) => x.mtime - y.mtime || (x.name < y.name ? -1 : 1));
  for (const f of sorted) {
    if (total <= maxTotal) break;
    if (f.name === keep) continue;
    out.push(f.name);
    total -= f.size;
  }
  return out;
}

/** Limits of one log directory. */
interface FileLimits {
  keepDays: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

/**
 * A daily file opened for append, switched when the local day changes or the file is full.
 * Problems are reported through `report` (stdout): once when writing fails, once on recovery.
 */
class DailyFile {
  #day = "";
  #part = 0;
  #size = 0;
  #file: Deno.FsFile | null = null;
  #failedAt: number | null = null;
  #lost = 0;
  readonly #enc = new TextEncoder();
  constructor(
    readonly dir: string,
    readonly prefix: string,
    readonly limits: FileLimits,
    readonly report: (line: string) => void,
  ) {}

  #name(part: number): string {
    return `${this.prefix}-${this.#day}${part ? `.${part}` : ""}.log`;
  }

  write(at: Date, line: string): void {
    if (this.#failedAt !== null && at.getTime() - this.#failedAt < REOPEN_AFTER_MS) {
      this.#lost++;
      return;
    }
    const bytes = this.#enc.encode(line + "\n");
    try {
      const day = localDay(at);
      if (day !== this.#day || !this.#file) this.#open(day, at);
      else if (this.#size + bytes.length > this.limits.maxFileBytes) this.#roll();
      let n = 0;
      while (n < bytes.length) n += this.#file!.writeSync(bytes.subarray(n));
      this.#size += bytes.length;
    } catch (err) {
      this.#fail(at, err);
    }
  }

  #fail(at: Date, err: unknown): void {
    const first = this.#failedAt === null;
    this.#failedAt = at.getTime();
    this.#lost++;
    this.close();
    if (first) {
      this.report(formatLine(
        at,
        "ERROR",
        `Cannot write the log file in ${this.dir}: ${(err as Error).message}; retrying every ${
          REOPEN_AFTER_MS / 1000
        } s (lines go to stdout only meanwhile)`,
      ));
    }
  }

  #open(day: string, at: Date): void {
    this.close();
    if (day !== this.#day) {
      this.#day = day;
      this.#part = 0;
      // After a restart, continue the day's last part.
      try {
        const re = new RegExp(`^${this.prefix}-${day}\\.(\\d+)\\.log$`);
        for (const e of Deno.readDirSync(this.dir)) {
          const m = re.exec(e.name);
          if (m) this.#part = Math.max(this.#part, Number(m[1]));
        }
      } catch { /* the directory is made below */ }
    }
    this.#openPart();
    if (this.#failedAt !== null) {
      this.report(formatLine(
        at,
        "WARNING",
        `Log file ${this.dir}/${this.#name(this.#part)} open again; ${this.#lost} line(s) ` +
          "went to stdout only meanwhile",
      ));
      this.#failedAt = null;
      this.#lost = 0;
    }
    if (this.#size >= this.limits.maxFileBytes) this.#roll();
    else this.#prune();
  }

  #openPart(): void {
    Deno.mkdirSync(this.dir, { recursive: true });
    this.#file = Deno.openSync(`${this.dir}/${this.#name(this.#part)}`, {
      append: true,
      create: true,
      mode: 0o640,
    });
    this.#size = this.#file.statSync().size;
  }

  #roll(): void {
    this.close();
    this.#part++;
    this.#openPart();
    this.#prune();
  }

  /** Removes files past `keepDays`, then the oldest while the directory is over budget. */
  #prune(): void {
    try {
      const names = [...Deno.readDirSync(this.dir)].filter((e) => e.isFile).map((e) => e.name);
      for (const old of expiredLogs(names, this.prefix, this.#day, this.limits.keepDays)) {
        Deno.removeSync(`${this.dir}/${old}`);
      }
      const re = fileRe(this.prefix);
      const files = [];
      for (const e of Deno.readDirSync(this.dir)) {
        if (!e.isFile || !re.test(e.name)) continue;
        const st = Deno.statSync(`${this.dir}/${e.name}`);
        files.push({ name: e.name, size: st.size, mtime: st.mtime?.getTime() ?? 0 });
      }
      for (const name of overBudget(files, this.limits.maxTotalBytes, this.#name(this.#part))) {
        Deno.removeSync(`${this.dir}/${name}`);
      }
    } catch { /* pruning is best effort */ }
  }

  sync(): void {
    try {
      this.#file?.syncSync();
    } catch { /* ignore */ }
  }

  close(): void {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
    this.#file = null;
  }
}

/** The composition root's logger: a {@linkcode Logger} that can also be flushed and closed. */
export interface FileLogger extends Logger {
  /** Logs at CRITICAL. */
  critical(message: string, fields?: Record<string, unknown>): void;
  /** fsyncs the files. */
  flush(): void;
  /** Closes the files (later lines go to stdout only). */
  close(): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Threshold of stdout and the `logs/` file. */
  level: Level;
  /** State directory; null logs to stdout only. */
  stateDir: string | null;
  /** Days of files kept. */
  keepDays?: number;
  /** Largest file, bytes (then it rolls over to `.1.log`, ...). */
  maxFileBytes?: number;
  /** Largest total per directory, bytes (oldest files removed first). */
  maxTotalBytes?: number;
  /** Whether the DEBUG file under `debug/` is written (true by default). */
  debugFile?: boolean;
  /** Where console lines go (stdout by default). */
  write?: (line: string) => void;
  /** Clock. */
  now?: () => Date;
}

/** Builds the stdout + daily files logger. */
export function createLogger(opts: LoggerOptions): FileLogger {
  const threshold = LEVELS.indexOf(opts.level);
  const now = opts.now ?? (() => new Date());
  const out = opts.write ?? ((line: string) => console.log(line));
  const report = (line: string) => {
    try {
      out(line);
    } catch { /* stdout closed: nothing left to tell */ }
  };
  const limits: FileLimits = {
    keepDays: opts.keepDays ?? DEFAULT_KEEP_DAYS,
    maxFileBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    maxTotalBytes: opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
  };
  const main = opts.stateDir
    ? new DailyFile(`${opts.stateDir}/logs`, "orchestrator-logs", limits, report)
    : null;
  const debug = opts.stateDir && opts.debugFile !== false
    ? new DailyFile(`${opts.stateDir}/debug`, "orchestrator-debug", limits, report)
    : null;
  let closed = false;
  const log = (level: Level, message: string, fields?: Record<string, unknown>) => {
    const at = now();
    const line = formatLine(at, level, message, fields);
    const visible = LEVELS.indexOf(level) >= threshold;
    if (visible) report(line);
    if (closed) return;
    debug?.write(at, line);
    if (visible) main?.write(at, line);
  };
  return {
    debug: (m, f) => log("DEBUG", m, f),
    info: (m, f) => log("INFO", m, f),
    warn: (m, f) => log("WARNING", m, f),
    error: (m, f) => log("ERROR", m, f),
    critical: (m, f) => log("CRITICAL", m, f),
    flush() {
      main?.sync();
      debug?.sync();
    },
    close() {
      this.flush();
      closed = true;
      main?.close();
      debug?.close();
    },
  };
}
