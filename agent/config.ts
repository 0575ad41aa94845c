/**
 * Agent configuration: the flags and environment variables of interfaces.md, the flag winning.
 * Pure: arguments, environment and home directory come in; a config or one error line comes out.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Level, LEVELS } from "./log.ts";

/** The resolved configuration. */
export interface Config {
  /** `run` (default), `doctor` or `unpin`. */
  command: "run" | "doctor" | "unpin";
  /** The runtime named by `unpin RUNTIME`. */
  unpinRuntime?: string;
  /** Parent interfaces runtimes may use; null: all. */
  allowedParents: string[] | null;
  /** Cloud Socket.IO endpoint. */
  serverUrl: string;
  /** Directory with `client.crt` / `client.key`. */
  mtlsDir: string;
  /** Extra CA bundle for the server, or null for system roots only. */
  serverCa: string | null;
  /** Shared state directory. */
  stateDir: string;
  /** Netmon socket path. */
  netmonSocket: string;
  /** Docker engine socket path. */
  dockerSocket: string;
  /** Image of new runtimes. */
  runtimeImage: string;
  /** Seconds between heartbeats. */
  heartbeatInterval: number;
  /** Log threshold. */
  logLevel: Level;
}

/** One flag: name, env var, default (as text, for --help), description. */
interface FlagSpec {
  flag: string;
  env: string;
  def: string;
  help: string;
}

const FLAGS: FlagSpec[] = [
  {
    flag: "server-url",
    env: "ORCHESTRATOR_SERVER_URL",
    def: "https://api.getedge.me",
    help: "cloud Socket.IO endpoint",
  },
  {
    flag: "mtls-dir",
    env: "ORCHESTRATOR_MTLS_DIR",
    def: "$HOME/.mtls",
    help: "holds client.crt and client.key",
  },
  {
    flag: "server-ca",
    env: "ORCHESTRATOR_SERVER_CA",
    def: "system roots",
    help: "extra CA bundle trusted for the server",
  },
  {
    flag: "state-dir",
    env: "ORCHESTRATOR_STATE_DIR",
    def: "/var/orchestrator",
    help: "shared volume: netmon.sock, runtime_vnics.json, logs/, debug/, metrics/",
  },
  {
    flag: "netmon-socket",
    env: "ORCHESTRATOR_NETMON_SOCKET",
    def: "<state-dir>/netmon.sock",
    help: "where netmon publishes",
  },
  {
    flag: "docker-socket",
    env: "DOCKER_HOST",
    def: "/var/run/docker.sock",
    help: "Docker engine API (env: unix://PATH)",
  },
  {
    flag: "runtime-image",
    env: "ORCHESTRATOR_RUNTIME_IMAGE",
    def: "ghcr.io/autonomy-logic/openplc-runtime:latest",
    help: "image of new runtimes",
  },
  {
    flag: "heartbeat-interval",
    env: "ORCHESTRATOR_HEARTBEAT_INTERVAL",
    def: "5",
    help: "seconds between heartbeats",
  },
  {
    flag: "allowed-parents",
    env: "ORCHESTRATOR_ALLOWED_PARENTS",
    def: "all interfaces",
    help: "comma-separated parent interfaces runtimes may use",
  },
  { flag: "log-level", env: "ORCHESTRATOR_LOG_LEVEL", def: "INFO", help: LEVELS.join(", ") },
];

/** A Linux interface name: 1-15 characters, no "/" or whitespace (IFNAMSIZ - 1). */
const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** The `--help` text. */
export function helpText(): string {
  const rows = FLAGS.map((f) =>
    `  --${f.flag.padEnd(20)} ${f.help}\n${"".padEnd(25)}env ${f.env}, default ${f.def}`
  );
  return [
    "Usage: agent [doctor | unpin RUNTIME] [flags]",
    "",
    "Connects this device to the cloud with its mTLS certificate and runs the commands it sends.",
    "",
    "Commands:",
    "  (none)                 run the agent",
    "  doctor                 check certificates, Docker, netmon and the cloud; exit 0 when all pass",
    "  unpin RUNTIME          forget the pinned API certificate of a runtime (after it was renewed)",
    "",
    "Flags may follow the command. Each is also read from the environment variable shown; the",
    "flag wins:",
    ...rows,
    "  --help                 print this help",
  ].join("\n");
}

/** Result of {@linkcode parseConfig}. */
export type ConfigResult =
  | { ok: true; config: Config }
  | { ok: false; help: true }
  | { ok: false; help: false; error: string };

/** Longest heartbeat interval accepted: 1 h; beyond that the cloud would mark us offline anyway. */
const MAX_HEARTBEAT_S = 3600;

/** Parses arguments and environment. Never throws. */
export function parseConfig(
  args: string[],
  env: Record<string, string | undefined>,
  home: string | undefined,
): ConfigResult {
  // `deno task agent -- doctor --mtls-dir DIR` passes the `--` through; parseArgs would read
  // everything after it as positionals.
  const argv = args[0] === "--" ? args.slice(1) : args;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(FLAGS.map((f) => [f.flag, { type: "string" as const }])),
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    return { ok: false, help: false, error: (err as Error).message.split("\n")[0]! };
  }
  if (parsed.values.help) return { ok: false, help: true };
  const pos = parsed.positionals;
  const command = pos[0] === "doctor" ? "doctor" : pos[0] === "unpin" ? "unpin" : "run";
  const wanted = command === "unpin" ? 2 : command === "doctor" ? 1 : 0;
  if (command === "unpin" && pos.length < 2) {
    return { ok: false, help: false, error: "unpin needs the runtime's name: agent unpin RUNTIME" };
  }
  if (pos.length > wanted) {
    return {
      ok: false,
      help: false,
      error: `Unknown command: "${pos.join(" ")}" (commands: doctor, unpin RUNTIME)`,
    };
  }
  const v = parsed.values as Record<string, string | undefined>;
  const get = (flag: string): string | undefined => {
    const spec = FLAGS.find((f) => f.flag === flag)!;
    const raw = v[flag] ?? env[spec.env];
    return raw === undefined || raw === "" ? undefined : raw;
  };
  const fail = (error: string): ConfigResult => ({ ok: false, help: false, error });

  const serverUrl = get("server-url") ?? "https://api.getedge.me";
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    return fail(`Invalid --server-url: "${serverUrl}" is not a URL`);
  }
  if (url.protocol !== "https:") return fail(`Invalid --server-url: "${serverUrl}" must use https`);

  const mtlsDir = get("mtls-dir") ?? (home ? `${home}/.mtls` : undefined);
  if (!mtlsDir) return fail("Invalid --mtls-dir: not given and $HOME is not set");
  const stateDir = get("state-dir") ?? "/var/orchestrator";

  let dockerSocket = v["docker-socket"] ?? "/var/run/docker.sock";
  if (v["docker-socket"] === undefined && env.DOCKER_HOST) {
    if (!env.DOCKER_HOST.startsWith("unix://")) {
      return fail(`Invalid DOCKER_HOST: "${env.DOCKER_HOST}" (only unix:// sockets are supported)`);
    }
    dockerSocket = env.DOCKER_HOST.slice("unix://".length);
  }

  const hbText = get("heartbeat-interval") ?? "5";
  const hb = Number(hbText);
  if (!/^\d+(\.\d+)?$/.test(hbText) || !(hb > 0) || hb > MAX_HEARTBEAT_S) {
    return fail(
      `Invalid --heartbeat-interval: "${hbText}" (seconds, > 0 and <= ${MAX_HEARTBEAT_S})`,
    );
  }
  const levelText = (get("log-level") ?? "INFO").toUpperCase();
  const level = (levelText === "WARN" ? "WARNING" : levelText) as Level;
  if (!LEVELS.includes(level)) {
    return fail(`Invalid --log-level: "${levelText}" (one of ${LEVELS.join(", ")})`);
  }
  const runtimeImage = get("runtime-image") ?? "ghcr.io/autonomy-logic/openplc-runtime:latest";
  if (/\s/.test(runtimeImage)) return fail(`Invalid --runtime-image: "${runtimeImage}"`);

  const parentsText = get("allowed-parents");
  let allowedParents: string[] | null = null;
  if (parentsText !== undefined) {
    allowedParents = [...new Set(parentsText.split(",").map((p) => p.trim()).filter(Boolean))];
    const bad = allowedParents.find((p) => !IFNAME_RE.test(p));
    if (bad !== undefined || allowedParents.length === 0) {
      return fail(
        `Invalid --allowed-parents: "${parentsText}" (comma-separated interface names${
          bad !== undefined ? `; "${bad}" is not one` : ""
        })`,
      );
    }
  }

  return {
    ok: true,
    config: {
      command,
      ...(command === "unpin" ? { unpinRuntime: pos[1]! } : {}),
      allowedParents,
      serverUrl,
      mtlsDir,
      serverCa: get("server-ca") ?? null,
      stateDir,
      netmonSocket: get("netmon-socket") ?? `${stateDir}/netmon.sock`,
      dockerSocket,
      runtimeImage,
      heartbeatInterval: hb,
      logLevel: level,
    },
  };
}
