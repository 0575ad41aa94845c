/**
 * The control plane's web page and the routes it uses, served on the plain HTTP API listener:
 *
 * - `GET /`: one self-contained HTML page (`page.html`: inline CSS and JS, no CDN);
 * - `GET /api/overview`: every agent seen, its last heartbeat, a CPU / memory series for the
 *   sparklines and its runtimes with their last status (refreshed on demand, see `fleet.ts`);
 * - `GET /api/agents/:id/interfaces`: the agent's host interfaces (parent choices);
 * - `POST /api/agents/:id/runtimes` `{name, parent_interface, network_mode, ip_address?,
 *   subnet?, gateway?}`: sends `create_new_runtime` with one vNIC (none without a parent);
 * - `POST /api/agents/:id/runtimes/:name/:action` (start, stop, restart, delete).
 *
 * Every answer is the agent's ack as JSON (errors too, so the page can show them).
 *
 * @module
 */
import { type ApiContext, json, type Route } from "./api.ts";

/** Points per sparkline: 60 heartbeats = 5 minutes at the default 5 s interval. */
const SERIES_POINTS = 60;
/** Create and lifecycle acks come at once (the work continues in the background). */
const COMMAND_TIMEOUT_MS = 15_000;

const PAGE = new URL("./page.html", import.meta.url);

const ACTIONS: Record<string, string> = {
  start: "start_device",
  stop: "stop_device",
  restart: "restart_device",
  delete: "delete_device",
};

type Beat = { cpu_usage?: number; memory_usage?: number; memory_total?: number };

function overview(ctx: ApiContext): Promise<unknown> {
  const connected = new Set(ctx.cloud.agents());
  return Promise.all(
    ctx.cloud.allAgents().map(async (id) => {
      if (connected.has(id)) {
        await ctx.fleet.refresh(id, (a, t, p, ms) => ctx.cloud.send(a, t, p, ms));
      }
      const beats = ctx.cloud.heartbeats(id);
      const last = beats.at(-1);
      return {
        id,
        connected: connected.has(id),
        connections: ctx.cloud.connections(id),
        last_heartbeat: last ? { received_at: last.receivedAt, payload: last.payload } : null,
        series: beats.slice(-SERIES_POINTS).map((b) => {
          const p = b.payload as Beat;
          const mem = p.memory_total ? (100 * (p.memory_usage ?? 0)) / p.memory_total : 0;
          return [b.receivedAt, p.cpu_usage ?? 0, Math.round(mem * 10) / 10];
        }),
        runtimes: ctx.fleet.list(id),
      };
    }),
  ).then((agents) => ({ now: Date.now(), agents }));
}

/** Builds the `create_new_runtime` message from the page's form. Pure. */
export function createMessage(form: Record<string, unknown>): Record<string, unknown> {
  const str = (k: string) => typeof form[k] === "string" ? (form[k] as string).trim() : "";
  const parent = str("parent_interface");
  const vnic: Record<string, unknown> = {
    name: "eth0",
    parent_interface: parent,
    network_mode: str("network_mode") || "dhcp",
  };
  for (const k of ["ip_address", "subnet", "gateway"]) if (str(k)) vnic[k] = str(k);
  return {
    correlation_id: Date.now(),
    requested_at: new Date().toISOString(),
    container_name: str("name"),
    vnic_configs: parent ? [vnic] : [],
  };
}

async function sendOr504(
  ctx: ApiContext,
  agent: string,
  topic: string,
  payload: unknown,
): Promise<Response> {
  try {
    return json(await ctx.cloud.send(agent, topic, payload, COMMAND_TIMEOUT_MS));
  } catch (err) {
    return json({ status: "error", error: err instanceof Error ? err.message : String(err) }, 504);
  }
}

/** Routes of the web page. */
export const WEB_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/",
    handler: async () =>
      new Response(await Deno.readTextFile(PAGE), {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      }),
  },
  {
    method: "GET",
    path: "/api/overview",
    handler: async (ctx) => json(await overview(ctx)),
  },
  {
    method: "GET",
    path: "/api/agents/:id/interfaces",
    handler: (ctx, _req, p) =>
      sendOr504(ctx, p.id!, "get_host_interfaces", { include_virtual: true, detailed: true }),
  },
  {
    method: "POST",
    path: "/api/agents/:id/runtimes",
    handler: async (ctx, req, p) => {
      const form = await req.json().catch(() => null);
      if (typeof form !== "object" || form === null) {
        return json({ status: "error", error: "body must be a JSON object" }, 400);
      }
      return await sendOr504(ctx, p.id!, "create_new_runtime", createMessage(form));
    },
  },
  {
    method: "POST",
    path: "/api/agents/:id/runtimes/:name/:action",
    handler: (ctx, _req, p) => {
      const topic = ACTIONS[p.action!];
      if (!topic) {
        return Promise.resolve(
          json({ status: "error", error: `Unknown action "${p.action}"` }, 400),
        );
      }
      return sendOr504(ctx, p.id!, topic, { device_id: p.name, correlation_id: Date.now() });
    },
  },
];
