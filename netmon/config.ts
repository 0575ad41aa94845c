/**
 * Command line and environment of netmon (interfaces.md "Netmon flags"). Pure: the composition
 * root passes `Deno.args` and an env getter, and turns an error into one line and exit code 2.
 *
 * @module
 */
import { type Level, LEVELS } from "./log.ts";

/** netmon's settings. */
export interface Config {
  socket: string;
  debounceMs: number;
  /** Period of the full re-send of every interface; 0 turns it off. */
  resendMs: number;
  logLevel: Level;
}

/** Default socket: the state directory shared with the agent. */
export const DEFAULT_SOCKET = "/var/orchestrator/netmon.sock";
/**
 * 3 s: a DHCP renewal or a cable move produces a burst of link, address and route events over
 * one to two seconds; 3 s lets it settle so clients see one change, not the intermediate states.
 */
export const DEFAULT_DEBOUNCE_MS = 3000;
/**
 * 30 s: the original netmon re-sends every interface this often (reference §9.2), and the
 * original agent's re-wiring runs from those re-sends; clients written for it rely on it.
 */
export const DEFAULT_RESEND_MS = 30_000;
/** An hour: any longer is a typo, and would leave clients blind to changes. */
export const MAX_DEBOUNCE_MS = 3_600_000;

/** `--help` text. */
export const HELP = `netmon: publishes the host's network interfaces on a Unix socket (JSON lines)

Usage: deno task netmon -- [flags]

  --socket PATH       env NETMON_SOCKET       default ${DEFAULT_SOCKET}
  --debounce MS       env NETMON_DEBOUNCE_MS  default ${DEFAULT_DEBOUNCE_MS} (quiet time before a change)
  --resend MS                                 default ${DEFAULT_RESEND_MS} (re-send every interface; 0 = never)
  --log-level LEVEL   env NETMON_LOG_LEVEL    default INFO (${LEVELS.join(", ")})
  --help              this text`;

/** Outcome of {@linkcode parseConfig}. */
export type ConfigResult =
  | { kind: "ok"; config: Config }
  | { kind: "help" }
  | { kind: "error"; message: string };

const STRING_FLAGS = new Set(["socket", "debounce", "resend", "log-level"]);

/** `[a-z-]+`, without a regular expression (see {@linkcode readFlags}). */
function isFlagName(name: string): boolean {
  if (name === "") return false;
  for (const ch of name) if (ch !== "-" && (ch < "a" || ch > "z")) return false;
  return true;
}

/** `\d+`, without a regular expression (see {@linkcode readFlags}). */
function isDigits(text: string): boolean {
  if (text === "") return false;
  for (const ch of text) if (ch < "0" || ch > "9") return false;
  return true;
}

/**
 * Reads `--name value`, `--name=value` and `--help`/`-h`. A few lines of our own instead of
 * `node:util`'s parseArgs: loading the Node compatibility layer costs netmon about 6 MiB of its
 * resident memory, a sixth of what it needs in all. No regular expressions either: V8 compiles
 * them with code netmon needs nowhere else.
 */
export function readFlags(
  args: string[],
): { values: Record<string, string | boolean> } | { error: string } {
  const values: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      values.help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? arg.length : eq);
    if (!arg.startsWith("--") || !isFlagName(name)) {
      return { error: `Unexpected argument "${arg}"` };
    }
    if (!STRING_FLAGS.has(name)) return { error: `Unknown option "--${name}"` };
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) return { error: `Option "--${name}" needs a value` };
    values[name] = value;
  }
  return { values };
}

/** Parses flags (winning) and environment variables. */
export function parseConfig(
  args: string[],
  env: (name: string) => string | undefined,
): ConfigResult {
  const read = readFlags(args[0] === "--" ? args.slice(1) : args);
  if ("error" in read) return { kind: "error", message: read.error };
  const values = read.values;
  if (values.help) return { kind: "help" };
  const socket = (values.socket as string | undefined) ?? env("NETMON_SOCKET") ?? DEFAULT_SOCKET;
  if (socket === "") return { kind: "error", message: "Invalid --socket: empty path" };
  const rawDebounce = (values.debounce as string | undefined) ?? env("NETMON_DEBOUNCE_MS");
  const debounceMs = rawDebounce === undefined ? DEFAULT_DEBOUNCE_MS : Number(rawDebounce);
  if (!isDigits(rawDebounce ?? "0") || debounceMs > MAX_DEBOUNCE_MS) {
    return {
      kind: "error",
      message: `Invalid --debounce "${rawDebounce}": expected milliseconds, 0-${MAX_DEBOUNCE_MS}`,
    };
  }
  const rawResend = values.resend as string | undefined;
  const resendMs = rawResend === undefined ? DEFAULT_RESEND_MS : Number(rawResend);
  if (!isDigits(rawResend ?? "0") || resendMs > MAX_DEBOUNCE_MS) {
    return {
      kind: "error",
      message: `Invalid --resend "${rawResend}": expected milliseconds, 0-${MAX_DEBOUNCE_MS}`,
    };
  }
  const rawLevel = (values["log-level"] as string | undefined) ?? env("NETMON_LOG_LEVEL") ??
    "INFO";
  const logLevel = LEVELS.find((l) => l === rawLevel.toUpperCase());
  if (!logLevel) {
    return {
      kind: "error",
      message: `Invalid --log-level "${rawLevel}": expected one of ${LEVELS.join(", ")}`,
    };
  }
  return { kind: "ok", config: { socket, debounceMs, resendMs, logLevel } };
}
