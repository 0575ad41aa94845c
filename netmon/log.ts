/**
 * A small leveled logger writing one line per record (stdout by default). Levels as the agent's:
 * DEBUG, INFO, WARNING, ERROR, CRITICAL.
 *
 * @module
 */
import { isoNow } from "./iso_time.ts";

/** Log levels, least severe first. */
export const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** One of {@linkcode LEVELS}. */
export type Level = typeof LEVELS[number];

/** What the rest of netmon receives. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
}

/**
 * A logger that drops records below `level`; `write` gets whole lines. `now` gives the time
 * stamp (see iso_time.ts for why not `Date`).
 */
export function createLogger(
  level: Level,
  write: (line: string) => void = (l) => console.log(l),
  now: () => string = isoNow,
): Logger {
  const min = LEVELS.indexOf(level);
  const at = (l: Level) => (msg: string) => {
    if (LEVELS.indexOf(l) >= min) write(`${now()} ${l} netmon: ${msg}`);
  };
  return { debug: at("DEBUG"), info: at("INFO"), warning: at("WARNING"), error: at("ERROR") };
}
