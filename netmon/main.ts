/**
 * netmon's composition root: reads the configuration, opens the netlink sockets (FFI), takes the
 * first snapshot, serves the Unix socket, and shuts down cleanly on SIGTERM / SIGINT.
 *
 * @module
 */
import { HELP, parseConfig } from "./config.ts";
import { openNetlinkSocket } from "./ffi.ts";
import { createLogger } from "./log.ts";
import { Monitor } from "./monitor.ts";
import * as C from "./netlink_constants.ts";
import { NetlinkClient } from "./netlink_client.ts";
import { statusBody } from "./commands.ts";
import { SocketServer } from "./server.ts";
import { looksWireless, type WirelessProbe } from "./snapshot.ts";

/**
 * 4 MiB receive buffer for events: with the default (~200 KiB) a burst of 800 events lost most of
 * them; with 4 MiB none (environment.md). Dump replies are read as they come and need no more.
 */
const EVENT_RCVBUF_BYTES = 4 * 1024 * 1024;
const DUMP_RCVBUF_BYTES = 1024 * 1024;

/**
 * Wireless when sysfs says so (`/sys/class/net/X/wireless` for wext, `phy80211` for cfg80211
 * drivers), else by name and IFLA_WIRELESS; see snapshot.ts `looksWireless`.
 */
const sysfsWireless: WirelessProbe = (name, link) => {
  for (const leaf of ["wireless", "phy80211"]) {
    try {
      Deno.statSync(`/sys/class/net/${name}/${leaf}`);
      return true;
    } catch { /* not there */ }
  }
  return looksWireless(name, link);
};

async function main(): Promise<number> {
  const parsed = parseConfig(Deno.args, (n) => Deno.env.get(n));
  if (parsed.kind === "help") {
    console.log(HELP);
    return 0;
  }
  if (parsed.kind === "error") {
    console.error(`netmon: ${parsed.message}`);
    return 2;
  }
  const { config } = parsed;
  const log = createLogger(config.logLevel);
  const groups = C.RTMGRP_LINK | C.RTMGRP_IPV4_IFADDR | C.RTMGRP_IPV4_ROUTE;
  const events = await openNetlinkSocket(groups, EVENT_RCVBUF_BYTES);
  if (!events.rcvbuf.forced) {
    log.warning("SO_RCVBUFFORCE refused (not root?): a burst may overflow; re-dumps recover");
  }
  const dumps = await openNetlinkSocket(0, DUMP_RCVBUF_BYTES);
  const netlink = new NetlinkClient(events.socket, dumps.socket);

  let server: SocketServer | null = null;
  const monitor = new Monitor({
    netlink,
    debounceMs: config.debounceMs,
    wireless: sysfsWireless,
    log,
    publish: (e) => server?.broadcast(e),
  });
  await monitor.start();
  server = new SocketServer({
    path: config.socket,
    log,
    discovery: () => monitor.discovery(),
    run: async (command) => {
      if (command === "resync") return { changes: await monitor.resync("client asked") };
      return statusBody(command, {
        ours: { ...monitor.status(), clients: server?.clientCount ?? 0 },
      });
    },
  });
  await server.listen();
  log.info(
    `Serving ${config.socket} (debounce ${config.debounceMs} ms, re-send every ` +
      `${config.resendMs} ms): ` + monitor.interfaces.map((i) => i.interface).join(", "),
  );
  // The original's periodic re-send, only while someone listens (it costs nothing otherwise).
  const resend = config.resendMs > 0
    ? setInterval(() => {
      if ((server?.clientCount ?? 0) > 0) monitor.resendAll();
    }, config.resendMs)
    : undefined;

  const stopped = Promise.withResolvers<string>();
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => stopped.resolve(sig));
  }
  const running = monitor.run().then(
    () => "netlink closed",
    (e) => `netlink failed: ${(e as Error).message}`,
  );
  const why = await Promise.race([stopped.promise, running]);
  log.info(`Stopping (${why})`);
  clearInterval(resend);
  await server.close();
  await monitor.stop();
  return why.startsWith("SIG") ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`netmon: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
