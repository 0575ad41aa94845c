/**
 * Unit tests that need to write (a temp dir) are ignored by the read-only unit run of
 * `deno task ok`; the tier run has --allow-write (and --allow-net, for the netmon client's Unix
 * sockets), so they run here (CI runs every tier).
 *
 * @module
 */
import "../agent/serial/devices_test.ts";
import "../agent/network/netmon_client_test.ts";
import "../agent/metrics/consumption_test.ts";
