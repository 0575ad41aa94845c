/**
 * The netmon image's HEALTHCHECK: connects to the socket (`NETMON_SOCKET`, else
 * `/var/orchestrator/netmon.sock`, else the first argument), sends
 * `{"command":"get_status","id":"healthcheck"}` (the id asks for our typed reply, README "Replies")
 * and exits 0 when a `reply` line with that id and `status: "ok"` comes back, 1 otherwise. Dependency-free so it
 * starts fast: it runs every 30 s inside the container.
 *
 * @module
 */

/** Docker's HEALTHCHECK timeout is 5 s; give up at 4 s so we report instead of being killed. */
const TIMEOUT_MS = 4_000;

/** The request id; its reply echoes it. */
const ID = "healthcheck";

/** Whether one JSON line is an ok reply to our get_status. Pure. */
export function isOkReply(line: string): boolean {
  try {
    const msg = JSON.parse(line);
    return msg?.type === "reply" && msg.id === ID && msg.command === "get_status" &&
      msg.status === "ok";
  } catch {
    return false;
  }
}

/** Asks netmon at `path`; resolves with a verdict line and whether it is healthy. */
export async function check(path: string): Promise<{ ok: boolean; why: string }> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    return { ok: false, why: `Cannot connect to ${path}: ${(e as Error).message}` };
  }
  const timer = setTimeout(() => conn.close(), TIMEOUT_MS);
  try {
    await conn.write(
      new TextEncoder().encode(JSON.stringify({ command: "get_status", id: ID }) + "\n"),
    );
    let buf = "";
    // Lines before the reply are events (the discovery netmon sends on every connect).
    for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.includes('"reply"')) {
          return isOkReply(line)
            ? { ok: true, why: "netmon answered get_status" }
            : { ok: false, why: `netmon answered: ${line.slice(0, 200)}` };
        }
      }
    }
    return { ok: false, why: `${path} closed before a reply (timeout ${TIMEOUT_MS} ms)` };
  } catch (e) {
    return { ok: false, why: `${path}: ${(e as Error).message}` };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* already closed by the timer */ }
  }
}

if (import.meta.main) {
  const path = Deno.args[0] ?? Deno.env.get("NETMON_SOCKET") ?? "/var/orchestrator/netmon.sock";
  const verdict = await check(path);
  console.log(verdict.why);
  Deno.exit(verdict.ok ? 0 : 1);
}
