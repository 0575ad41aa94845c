/**
 * The netmon client's waits against the real filesystem (issue 15): a client waiting for a
 * missing or stale socket is woken by `Deno.watchFs` when netmon binds it, not by a timer. The
 * tests live beside the code (agent/network/netmon_client_test.ts) and need a temp directory and
 * a Unix socket (--allow-write, --allow-net), which the read-only unit run of `deno task ok` does
 * not grant, so it ignores them; the tier run grants both and runs them from here.
 *
 * @module
 */
import "../agent/network/netmon_client_test.ts";
