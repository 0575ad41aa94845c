/**
 * The dev control plane: a Socket.IO server over HTTPS that requires a client certificate from
 * its own CA, records connected agents by CN, logs heartbeats, and sends any topic to an agent and
 * returns the ack. A second, plain HTTP listener on loopback carries a small JSON API (route
 * table in `api.ts`) and the web page (`web.ts`). An optional third listener, HTTPS without
 * client certificates, serves the provisioning endpoints the installer uses (`provision.ts`).
 *
 * @module
 */
import { createServer, type Server as HttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { Server, type Socket } from "socket.io";
import {
  type Ca,
  createCa,
  DEFAULT_BITS,
  DEFAULT_SERVER_SANS,
  issueDevice,
  issueServer,
  sanEntries,
} from "./pki.ts";
import { type ApiContext, type Route, serveApi } from "./api.ts";
import { Fleet } from "./fleet.ts";
import { Provisioner, serveProvisioning } from "./provision.ts";
import { WEB_ROUTES } from "./web.ts";

/** Heartbeats kept per agent: 2 h at 5 s; enough for any test and bounded for long demos. */
const MAX_HEARTBEATS = 1440;

/** Options of {@linkcode startDevCloud}. */
export interface DevCloudOptions {
  /** HTTPS port of the Socket.IO endpoint; 0 picks a free one. */
  port?: number;
  /** Directory of the PKI (created when empty, reused when it holds a CA). */
  dir: string;
  /** RSA bits of new keys (4096 by default; tests use 2048). */
  bits?: number;
  /** Port of the plain HTTP API on 127.0.0.1; 0 picks one; null disables it. */
  apiPort?: number | null;
  /**
   * The API's token (see `api.ts`): a new random one per start by default. It is written to
   * `<dir>/api-token` (mode 600) for local tools either way.
   */
  apiToken?: string;
  /** Extra API routes, tried after the built-in ones and the web page's. */
  routes?: Route[];
  /**
   * Port of the HTTPS provisioning listener (`GET /orchestrators/id`, `POST
   * /orchestrators/enroll`, no client certificate needed); 0 picks one; absent or null: none.
   */
  provisionPort?: number | null;
  /** Address the provisioning listener binds (127.0.0.1 by default: the installer is local). */
  provisionHost?: string;
  /**
   * Extra names and addresses the server certificate is valid for, besides localhost and
   * 127.0.0.1: e.g. `["172.17.0.1", "host.docker.internal"]` so an agent *container* can dial the
   * host. When given, an existing server certificate with other SANs is re-issued.
   */
  serverSans?: string[];
  /** Log lines go here (console by default). */
  log?: (line: string) => void;
}

/** One recorded heartbeat. */
export interface HeartbeatRecord {
  /** Arrival time, ms since epoch (server clock). */
  receivedAt: number;
  /** The payload as sent. */
  payload: unknown;
}

/** A running dev control plane. */
export interface DevCloud {
  /** `https://localhost:<port>`. */
  url: string;
  /** HTTPS port. */
  port: number;
  /** `http://127.0.0.1:<apiPort>` or null when the API is disabled. */
  apiUrl: string | null;
  /** The web page with the token, `http://127.0.0.1:<apiPort>/#token=<token>`, or null. */
  pageUrl: string | null;
  /** The API's per-start token (`Authorization: Bearer <token>`). */
  apiToken: string;
  /** `https://<provisionHost>:<port>` of the provisioning listener, or null when disabled. */
  provisionUrl: string | null;
  /** CA certificate: the agent's `--server-ca`. */
  caFile: string;
  /** The CA (to issue special certificates in tests). */
  ca: Ca;
  /** Issues a device certificate into `<dir>/devices/<id>/` and returns that directory. */
  issueDevice(id: string): Promise<string>;
  /** Sends `topic` to a connected agent and resolves with its ack (rejects on timeout). */
  send(agentId: string, topic: string, payload: unknown, timeoutMs?: number): Promise<unknown>;
  /** Heartbeats received from an agent, oldest first. */
  heartbeats(agentId: string): HeartbeatRecord[];
  /** CNs of the connected agents. */
  agents(): string[];
  /** CNs of every agent that connected since start, connected or not, sorted. */
  allAgents(): string[];
  /** Names of an agent's runtimes this control plane knows of (see `fleet.ts`). */
  runtimes(agentId: string): string[];
  /** Resolves when `agentId` is connected (rejects after `timeoutMs`). */
  waitForAgent(agentId: string, timeoutMs?: number): Promise<void>;
  /** Count of connections accepted per CN since start (reconnections included). */
  connections(agentId: string): number;
  /** Closes every listener and connection. */
  stop(): Promise<void>;
}

/** 32 random bytes, base64url: a per-start token nobody can guess. */
function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Common name of the peer certificate of a TLS socket, or null. */
function peerCn(socket: Socket): string | null {
  const tls = socket.request.socket as TLSSocket;
  const cert = typeof tls.getPeerCertificate === "function" ? tls.getPeerCertificate() : null;
  const cn = cert?.subject?.CN;
  return typeof cn === "string" && cn !== "" ? cn : Array.isArray(cn) ? cn[0] ?? null : null;
}

/** Starts the dev control plane. */
export async function startDevCloud(opts: DevCloudOptions): Promise<DevCloud> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const bits = opts.bits ?? DEFAULT_BITS;
  await Deno.mkdir(opts.dir, { recursive: true });
  const ca = await createCa(`${opts.dir}/ca`, { bits });
  const serverBase = `${opts.dir}/server`;
  const sans = [...new Set([...DEFAULT_SERVER_SANS, ...sanEntries(opts.serverSans ?? [])])];
  const sansFile = `${serverBase}.sans`;
  const haveSans = await Deno.readTextFile(sansFile).catch(() => null);
  const haveCert = await Deno.stat(`${serverBase}.crt`).then(() => true, () => false);
  // Without serverSans an existing certificate is kept as it is (tests plant special ones).
  if (!haveCert || (opts.serverSans !== undefined && haveSans !== sans.join(","))) {
    await issueServer(ca, serverBase, bits, sans);
    await Deno.writeTextFile(sansFile, sans.join(","));
  }
  const read = (p: string) => Deno.readTextFileSync(p);
  const https: HttpsServer = createServer({
    key: read(`${serverBase}.key`),
    cert: read(`${serverBase}.crt`),
    ca: read(ca.certFile),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  });
  const io = new Server(https, { transports: ["websocket"], serveClient: false });
  const sockets = new Map<string, Socket>();
  const beats = new Map<string, HeartbeatRecord[]>();
  const counts = new Map<string, number>();
  const waiters: { id: string; resolve: () => void }[] = [];
  const fleet = new Fleet();

  io.on("connection", (socket) => {
    const cn = peerCn(socket);
    if (!cn) {
      log("devcloud: refused a connection whose certificate has no CN");
      socket.disconnect(true);
      return;
    }
    sockets.get(cn)?.disconnect(true);
    sockets.set(cn, socket);
    counts.set(cn, (counts.get(cn) ?? 0) + 1);
    log(`devcloud: agent ${cn} connected`);
    for (const w of waiters.filter((w) => w.id === cn)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    socket.on("heartbeat", (payload: unknown) => {
      const list = beats.get(cn) ?? [];
      list.push({ receivedAt: Date.now(), payload });
      if (list.length > MAX_HEARTBEATS) list.splice(0, list.length - MAX_HEARTBEATS);
      beats.set(cn, list);
      log(`devcloud: heartbeat ${cn} ${JSON.stringify(payload)}`);
    });
    socket.on("disconnect", (reason) => {
      if (sockets.get(cn) === socket) sockets.delete(cn);
      log(`devcloud: agent ${cn} disconnected (${reason})`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    https.once("error", reject);
    https.listen(opts.port ?? 0, () => resolve());
  });
  const port = (https.address() as { port: number }).port;

  const cloud: DevCloud = {
    url: `https://localhost:${port}`,
    port,
    apiUrl: null,
    pageUrl: null,
    apiToken: opts.apiToken ?? randomToken(),
    provisionUrl: null,
    caFile: ca.certFile,
    ca,
    async issueDevice(id) {
      const dir = `${opts.dir}/devices/${id}`;
      await issueDevice(ca, id, dir, bits);
      return dir;
    },
    async send(agentId, topic, payload, timeoutMs = 10_000) {
      const socket = sockets.get(agentId);
      if (!socket) throw new Error(`Cannot send "${topic}": agent ${agentId} is not connected`);
      const ack = await socket.timeout(timeoutMs).emitWithAck(topic, payload);
      fleet.observe(agentId, topic, payload, ack);
      return ack;
    },
    heartbeats: (id) => [...(beats.get(id) ?? [])],
    agents: () => [...sockets.keys()],
    allAgents: () => [...counts.keys()].sort(),
    runtimes: (id) => fleet.names(id),
    connections: (id) => counts.get(id) ?? 0,
    waitForAgent(id, timeoutMs = 30_000) {
      if (sockets.has(id)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(entry), 1);
          reject(new Error(`Agent ${id} did not connect within ${timeoutMs} ms`));
        }, timeoutMs);
        const entry = {
          id,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(entry);
      });
    },
    async stop() {
      await api?.shutdown();
      await provisioning?.shutdown();
      for (const s of sockets.values()) s.disconnect(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      https.closeAllConnections?.();
    },
  };
  const ctx: ApiContext = { cloud, fleet };
  const api = opts.apiPort === null
    ? null
    : serveApi(ctx, opts.apiPort ?? 0, [...WEB_ROUTES, ...opts.routes ?? []], cloud.apiToken);
  if (api) {
    cloud.apiUrl = `http://127.0.0.1:${api.addr.port}`;
    cloud.pageUrl = `${cloud.apiUrl}/#token=${cloud.apiToken}`;
    const tokenFile = `${opts.dir}/api-token`;
    await Deno.remove(tokenFile).catch(() => {});
    await Deno.writeTextFile(tokenFile, cloud.apiToken + "\n", { createNew: true, mode: 0o600 });
  }
  let provisioning: Deno.HttpServer<Deno.NetAddr> | null = null;
  if (opts.provisionPort !== undefined && opts.provisionPort !== null) {
    const hostname = opts.provisionHost ?? "127.0.0.1";
    provisioning = serveProvisioning(new Provisioner(ca, `${opts.dir}/enroll`), {
      hostname,
      port: opts.provisionPort,
      cert: read(`${serverBase}.crt`),
      key: read(`${serverBase}.key`),
    });
    const host = hostname === "127.0.0.1" || hostname === "0.0.0.0" ? "localhost" : hostname;
    cloud.provisionUrl = `https://${host}:${provisioning.addr.port}`;
  }
  log(
    `devcloud: listening on ${cloud.url}${api ? `, API on ${cloud.apiUrl}` : ""}` +
      (provisioning ? `, provisioning on ${cloud.provisionUrl}` : "") +
      (cloud.pageUrl ? `\ndevcloud: web page: ${cloud.pageUrl}` : ""),
  );
  return cloud;
}
