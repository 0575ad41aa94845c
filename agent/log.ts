/**
 * The logger interface every agent module receives (injected), a console implementation, and the
 * file-backed logger of the composition root: stdout at the chosen level, plus
 * `<state-dir>/logs/orchestrator-logs-YYYY-MM-DD.log` at the chosen level and
 * `<state-dir>/debug/orchestrator-debug-YYYY-MM-DD.log` at DEBUG. Files switch at local midnight,
 * are appended to (never truncated on restart), and only the last `keepDays` are kept.
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

/** Formats one line. Pure. Fields whose value has spaces are JSON-quoted. */
export function formatLine(
  at: Date,
  level: Level,
  message: string,
  fields?: Record<string, unknown>,
): string {
  let line = `${at.toISOString()} ${level} ${message}`;
  for (const [k, v] of Object.entries(fields ?? {})) {
    const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
    line += ` ${k}=${/[\s"]/.test(s) ? JSON.stringify(s) : s}`;
  }
  return line;
}

/** Local calendar day `YYYY-MM-DD` of a date. Pure. */
export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Names of files in a listing that are older than `keepDays` days before `today`. Pure. */
export function expiredLogs(
  names: string[],
  prefix: string,
  today: string,
  keepDays: number,
): string[] {
  const cutoff = Date.parse(`${today}T00:00:00Z`) - (keepDays - 1) * 86_400_000;
  return names.filter((n) => {
    const m = new RegExp(`^${prefix}-(\\d{4}-\\d{2}-\\d{2})\\.log$`).exec(n);
    return m !== null && Date.parse(`${m[1]}T00:00:00Z`) < cutoff;
  });
}

/** A daily file opened for append, switched when the local day changes. */
class DailyFile {
  #day = "";
  #file: Deno.FsFile | null = null;
  readonly #enc = new TextEncoder();
  constructor(readonly dir: string, readonly prefix: string, readonly keepDays: number) {}

  write(at: Date, line: string): void {
    const day = localDay(at);
    try {
      if (day !== this.#day) this.#open(day);
      const bytes = this.#enc.encode(line + "\n");
      let n = 0;
      while (n < bytes.length) n += this.#file!.writeSync(bytes.subarray(n));
    } catch { /* a full or read-only disk must not stop the agent; stdout still has the line */ }
  }

  #open(day: string): void {
    this.close();
    this.#day = day;
    Deno.mkdirSync(this.dir, { recursive: true });
    this.#file = Deno.openSync(`${this.dir}/${this.prefix}-${day}.log`, {
      append: true,
      create: true,
      mode: 0o640,
    });
    try {
      const names = [...Deno.readDirSync(this.dir)].map((e) => e.name);
      for (const old of expiredLogs(names, this.prefix, day, this.keepDays)) {
        Deno.removeSync(`${this.dir}/${old}`);
      }
    } catch { /* pruning is best effort */ }
  }

  sync(): void {
    try {
      this.#file?.syncSync();
    } catch { /* ignore */ }
  }

  close(): void {
    this.#file?.close();
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
  /** Where console lines go (stdout by default). */
  write?: (line: string) => void;
  /** Clock. */
  now?: () => Date;
}

/** Builds the stdout + daily files logger. */
export function createLogger(opts: LoggerOptions): FileLogger {
  const threshold = LEVELS.indexOf(opts.level);
  const keep = opts.keepDays ?? DEFAULT_KEEP_DAYS;
  const now = opts.now ?? (() => new Date());
  const out = opts.write ?? ((line: string) => console.log(line));
  const main = opts.stateDir
    ? new DailyFile(`${opts.stateDir}/logs`, "orchestrator-logs", keep)
    : null;
  const debug = opts.stateDir
    ? new DailyFile(`${opts.stateDir}/debug`, "orchestrator-debug", keep)
    : null;
  let closed = false;
  const log = (level: Level, message: string, fields?: Record<string, unknown>) => {
    const at = now();
    const line = formatLine(at, level, message, fields);
    const visible = LEVELS.indexOf(level) >= threshold;
    if (visible) out(line);
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
