/**
 * Reading a state file safely: a missing file is empty state; an unreadable one (torn, not JSON,
 * wrong shape) is never overwritten: it is renamed aside (`<file>.unreadable-<unix ms>`) and the
 * caller rebuilds the state from Docker labels.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** Outcome of reading a state file. */
export type StateRead<T> =
  | { kind: "ok"; value: T }
  | { kind: "missing" }
  | { kind: "unreadable"; movedTo: string; reason: string };

/** Reads and validates JSON state; moves an unreadable file aside. */
export async function readStateFile<T>(
  path: string,
  parse: (raw: unknown) => T,
  log: Logger,
  now: () => number = Date.now,
): Promise<StateRead<T>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
    throw err;
  }
  try {
    return { kind: "ok", value: parse(JSON.parse(text)) };
  } catch (err) {
    const movedTo = `${path}.unreadable-${now()}`;
    await Deno.rename(path, movedTo);
    const reason = err instanceof Error ? err.message.split("\n")[0]! : String(err);
    log.warn("State file unreadable: kept aside, rebuilding from Docker labels", {
      path,
      movedTo,
      reason,
    });
    return { kind: "unreadable", movedTo, reason };
  }
}
