/**
 * Pure reading of one client line into a command, or the error reply it deserves.
 *
 * @module
 */
import { NetmonCommand, type NetmonReply } from "../contracts/mod.ts";

/** A command to run, or the error reply to send. */
export type ReadCommand =
  | { kind: "command"; command: NetmonCommand }
  | { kind: "error"; reply: NetmonReply };

function error(command: string | null, message: string): ReadCommand {
  return { kind: "error", reply: { type: "reply", command, status: "error", error: message } };
}

/** Reads one line (without its newline). */
export function readCommand(line: string): ReadCommand {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return error(null, "Cannot read command: not JSON");
  }
  const parsed = NetmonCommand.safeParse(value);
  if (parsed.success) return { kind: "command", command: parsed.data };
  const name = typeof value === "object" && value !== null && "command" in value &&
      typeof value.command === "string"
    ? value.command
    : null;
  return error(
    name,
    name === null
      ? 'Cannot read command: expected {"command":"get_status"} or {"command":"resync"}'
      : `Unknown command "${name}": expected get_status or resync`,
  );
}
