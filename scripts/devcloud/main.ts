/**
 * `deno task devcloud`: starts the dev control plane and reads commands from stdin:
 *
 *   agents                              list connected agents
 *   issue <device-id>                   issue a device certificate (prints its --mtls-dir)
 *   send <agent> <topic> [json]         send a topic and print the ack
 *   beats <agent>                       print the last heartbeat
 *
 * Flags: see {@linkcode HELP} (`deno task devcloud --help`).
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

/** `deno task devcloud --help`. */
export const HELP = `deno task devcloud [flags]: the local control plane (mTLS Socket.IO server,
its own CA, web page, provisioning API for the installer). Reads commands on stdin:
  agents | issue <device-id> | send <agent> <topic> [json] | beats <agent>

Flags:
  --port N              Socket.IO over mTLS (default 8443; agents dial https://localhost:N)
  --api-port N          web page and JSON API on 127.0.0.1 (default 8444); the page's address,
                        with its per-start token, is printed at start (the token is also in
                        <dir>/api-token)
  --dir DIR             CA, server and device certificates (default ./.devcloud)
  --bits N              RSA key size of new keys (default 4096)
  --provision-port N    also serve GET /orchestrators/id and POST /orchestrators/enroll over
                        HTTPS for scripts/install.sh (default: off)
  --provision-host A    address the provisioning listener binds (default 127.0.0.1)
  --server-san NAME     extra name or address of the server certificate (repeatable), e.g.
                        172.17.0.1, the host as seen from an agent container on Docker's
                        default bridge
  --quiet               no heartbeat lines
  -h, --help            this text

An agent *container* (scripts/install.sh) reaches this control plane at the Docker bridge's
gateway: start it with --server-san 172.17.0.1 --provision-port 8445 and install with
--server https://172.17.0.1:8443 --provision-url https://localhost:8445
--server-ca <dir>/ca/ca.crt (see README.md).`;

/** Parses a port flag: an integer 0-65535 or an error message. */
function port(name: string, value: string): number | string {
  const n = Number(value);
  return /^\d+$/.test(value) && n <= 65535
    ? n
    : `--${name}: expected a port number, got "${value}"`;
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args.filter((a, i) => !(i === 0 && a === "--")),
      options: {
        port: { type: "string", default: "8443" },
        "api-port": { type: "string", default: "8444" },
        dir: { type: "string", default: ".devcloud" },
        bits: { type: "string", default: "4096" },
        quiet: { type: "boolean", default: false },
        "provision-port": { type: "string" },
        "provision-host": { type: "string", default: "127.0.0.1" },
        "server-san": { type: "string", multiple: true },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    console.error(`devcloud: ${(err as Error).message} (see --help)`);
    Deno.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const ports = {
    port: port("port", values.port!),
    api: port("api-port", values["api-port"]!),
    provision: values["provision-port"] === undefined
      ? null
      : port("provision-port", values["provision-port"]),
  };
  const bad = Object.values(ports).find((p) => typeof p === "string") ??
    (/^\d+$/.test(values.bits!) && Number(values.bits) >= 2048
      ? undefined
      : `--bits: expected 2048 or more, got "${values.bits}"`);
  if (bad !== undefined) {
    console.error(`devcloud: ${bad} (see --help)`);
    Deno.exit(2);
  }
  const quiet = values.quiet;
  let cloud;
  try {
    cloud = await startDevCloud({
      port: ports.port as number,
      apiPort: ports.api as number,
      dir: values.dir!,
      bits: Number(values.bits),
      provisionPort: ports.provision as number | null,
      provisionHost: values["provision-host"],
      serverSans: values["server-san"],
      log: (line) => {
        if (!quiet || !line.includes("heartbeat")) console.log(line);
      },
    });
  } catch (err) {
    // Port in use, unwritable --dir, openssl missing: one line, no stack trace.
    console.error(`devcloud: cannot start: ${(err as Error).message}`);
    Deno.exit(1);
  }
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
