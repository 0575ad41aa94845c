/**
 * A tiny netmon client: connects, prints every line netmon sends, and sends the commands given
 * as arguments (e.g. `get_status`, `resync`) once connected, each with an `id` so the replies are
 * typed (`{"type":"reply","id":N,...}`; without an id netmon answers in the original's untyped
 * shape, see README "Replies").
 *
 * Usage:
 *   deno run --allow-read --allow-write --allow-net netmon/client_example.ts \
 *     [--socket /var/orchestrator/netmon.sock] [get_status] [resync]
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { socket: { type: "string", default: "/var/orchestrator/netmon.sock" } },
  allowPositionals: true,
});
const conn = await Deno.connect({ transport: "unix", path: values.socket });
for (const [i, command] of positionals.entries()) {
  await conn.write(new TextEncoder().encode(JSON.stringify({ command, id: i + 1 }) + "\n"));
}
for await (const text of conn.readable.pipeThrough(new TextDecoderStream())) {
  await Deno.stdout.write(new TextEncoder().encode(text));
}
