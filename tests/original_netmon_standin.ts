/**
 * A stand-in for the original (Python, pyroute2) netmon, for the mixed-version tests: the original
 * is not available here, so this process replays its recorded lines
 * (`agent/network/testdata/original_netmon_lines.jsonl`, shapes from original-agent-reference.md
 * §9.2/§9.3) on a Unix socket the way the original writes them:
 * - on accept: the recorded `network_discovery`, then `device_discovery`;
 * - then the other recorded events, `--repeat` times (the original re-sends every 30 s);
 * - every command line gets the original's untyped reply: `get_status` its recorded status,
 *   anything else `{"success":false,"error":"Unknown command: X"}`, invalid JSON
 *   `{"success":false,"error":"Invalid JSON"}`.
 * With `--silent` it accepts and reads but never writes (a netmon that answers the socket and
 * leaves the agent's cache empty).
 *
 * Usage: deno run --allow-read --allow-write --allow-net tests/original_netmon_standin.ts SOCKET
 *   [--repeat N] [--silent]
 *
 * @module
 */

const FIXTURE = new URL("../agent/network/testdata/original_netmon_lines.jsonl", import.meta.url);

const [socket, ...flags] = Deno.args;
if (!socket) {
  console.error("usage: original_netmon_standin.ts SOCKET [--repeat N] [--silent]");
  Deno.exit(2);
}
const silent = flags.includes("--silent");
const repeatAt = flags.indexOf("--repeat");
const repeat = repeatAt >= 0 ? Number(flags[repeatAt + 1]) : 1;

const lines = Deno.readTextFileSync(FIXTURE).split("\n").filter((l) => l && !l.startsWith("#"));
const typed = lines.filter((l) => "type" in JSON.parse(l));
const first = typed.filter((l) => /^\{"type":"(network|device)_discovery"/.test(l));
const rest = typed.filter((l) => !first.includes(l));
const status = lines.find((l) => l.startsWith('{"success":true,"status"'))!;

const encoder = new TextEncoder();

async function serve(conn: Deno.UnixConn): Promise<void> {
  const write = (line: string) => conn.write(encoder.encode(line + "\n"));
  const reading = (async () => {
    let buf = "";
    for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line || silent) continue;
        let command: unknown;
        try {
          command = JSON.parse(line).command;
        } catch {
          await write('{"success":false,"error":"Invalid JSON"}');
          continue;
        }
        await write(
          command === "get_status"
            ? status
            : JSON.stringify({ success: false, error: `Unknown command: ${command}` }),
        );
      }
    }
  })();
  if (!silent) {
    for (const l of first) await write(l);
    for (let i = 0; i < repeat; i++) for (const l of rest) await write(l);
  }
  await reading;
}

await Deno.remove(socket).catch(() => {});
const listener = Deno.listen({ transport: "unix", path: socket });
console.log("listening");
Deno.addSignalListener("SIGTERM", () => {
  listener.close();
  Deno.removeSync(socket);
  Deno.exit(0);
});
for await (const conn of listener) void serve(conn).catch(() => conn.close());
