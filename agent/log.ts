/**
 * The logger interface every agent module receives (injected), and a console implementation.
 * The composition root replaces it with the file-backed logger (stdout + daily files).
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
