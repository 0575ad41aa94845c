/**
 * `deno task devcloud`: starts the dev control plane and reads commands from stdin:
 *
 *   agents                              list connected agents
 *   issue <device-id>                   issue a device certificate (prints its --mtls-dir)
 *   send <agent> <topic> [json]         send a topic and print the ack
 *   beats <agent>                       print the last heartbeat
 *
 * Flags: --port (8443), --api-port (8444; the web page is at its `/`), --dir (./.devcloud),
 * --bits (4096), --quiet, --provision-port (none; HTTPS provisioning for the installer),
 * --provision-host (127.0.0.1), --server-san NAME (repeatable: extra names or addresses of the
 * server certificate, e.g. 172.17.0.1 for agent containers).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startDevCloud } from "./server.ts";

/** Runs one command line against the cloud; returns what to print. */
async function command(
  cloud: Awaited<ReturnType<typeof startDevCloud>>,
  line: string,
): Promise<string> {
  const m = /^(\S+)\s*(\S*)\s*(\S*)\s*(.*)$/.exec(line.trim());
  if (!m || m[1] === "") return "";
  const [, cmd, a, b, rest] = m;
  switch (cmd) {
    case "agents":
      return JSON.stringify(cloud.agents());
    case "issue":
      return `issued: --mtls-dir ${await cloud.issueDevice(a!)} --server-ca ${cloud.caFile}`;
    case "beats":
      return JSON.stringify(cloud.heartbeats(a!).at(-1)?.payload ?? null);
    case "send": {
      const payload = rest ? JSON.parse(rest) : {};
      return JSON.stringify(await cloud.send(a!, b!, payload, 60_000), null, 2);
    }
    default:
      return "commands: agents | issue <id> | send <agent> <topic> [json] | beats <agent>";
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8443" },
      "api-port": { type: "string", default: "8444" },
      dir: { type: "string", default: ".devcloud" },
      bits: { type: "string", default: "4096" },
      quiet: { type: "boolean", default: false },
      "provision-port": { type: "string" },
      "provision-host": { type: "string", default: "127.0.0.1" },
      "server-san": { type: "string", multiple: true },
    },
  });
  const quiet = values.quiet;
  const cloud = await startDevCloud({
    port: Number(values.port),
    apiPort: Number(values["api-port"]),
    dir: values.dir!,
    bits: Number(values.bits),
    provisionPort: values["provision-port"] === undefined ? null : Number(values["provision-port"]),
    provisionHost: values["provision-host"],
    serverSans: values["server-san"],
    log: (line) => {
      if (!quiet || !line.includes("heartbeat")) console.log(line);
    },
  });
  console.log(`CA: ${cloud.caFile}`);
  const stop = async () => {
    await cloud.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => void stop());
  Deno.addSignalListener("SIGTERM", () => void stop());
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buf = "";
  for await (const chunk of lines) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const out = await command(cloud, line);
        if (out) console.log(out);
      } catch (err) {
        console.log(`error: ${(err as Error).message}`);
      }
    }
  }
}
