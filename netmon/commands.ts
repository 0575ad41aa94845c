/**
 * Pure reading of one client line into a command, or the error reply it deserves.
 *
 * @module
 */
import type { NetmonCommand, NetmonReply } from "../contracts/mod.ts";

/**
 * The commands of contracts' `NetmonCommand`, checked by hand: loading zod at run time costs
 * about 17 MiB of RSS (see ipv4_net.ts). `commands_test.ts` checks agreement with the schema.
 */
const COMMANDS: readonly NetmonCommand["command"][] = ["get_status", "resync"];

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
  const name = typeof value === "object" && value !== null && !Array.isArray(value) &&
      "command" in value && typeof value.command === "string"
    ? value.command
    : null;
  const known = COMMANDS.find((c) => c === name);
  if (known) return { kind: "command", command: { command: known } };
  return error(
    name,
    name === null
      ? 'Cannot read command: expected {"command":"get_status"} or {"command":"resync"}'
      : `Unknown command "${name}": expected get_status or resync`,
  );
}
