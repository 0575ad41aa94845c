/**
 * The dev control plane's JSON API on loopback, as a route table: add a route by appending to
 * the list. The web page and its routes are in `web.ts`; the provisioning routes (served over
 * HTTPS on their own listener) in `provision.ts`.
 *
 * @module
 */
import type { DevCloud } from "./server.ts";
import type { Fleet } from "./fleet.ts";

/** What route handlers receive. */
export interface ApiContext {
  /** The running control plane. */
  cloud: DevCloud;
  /** What the control plane knows of each agent's runtimes (for the web page). */
  fleet: Fleet;
}

/** One route: method, URL pattern (`/api/agents/:id/send`), handler. */
export interface Route {
  /** HTTP method. */
  method: string;
  /** Pathname pattern in URLPattern syntax. */
  path: string;
  /** Answers the request; `params` are the pattern's named groups. */
  handler: (ctx: ApiContext, req: Request, params: Record<string, string>) => Promise<Response>;
}

/** JSON response helper. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Built-in routes: list agents, heartbeats, send a topic. */
export const ROUTES: Route[] = [
  {
    method: "GET",
    path: "/api/agents",
    handler: (ctx) => Promise.resolve(json({ agents: ctx.cloud.agents() })),
  },
  {
    method: "GET",
    path: "/api/agents/:id/heartbeats",
    handler: (ctx, _req, p) => Promise.resolve(json(ctx.cloud.heartbeats(p.id!).slice(-100))),
  },
  {
    method: "POST",
    path: "/api/agents/:id/send",
    handler: async (ctx, req, p) => {
      let body: { topic?: unknown; payload?: unknown; timeout_ms?: unknown };
      try {
        body = await req.json();
      } catch {
        return json({ error: "body must be JSON {topic, payload}" }, 400);
      }
      if (typeof body.topic !== "string") return json({ error: "topic must be a string" }, 400);
      const timeout = typeof body.timeout_ms === "number" ? body.timeout_ms : 30_000;
      try {
        return json(await ctx.cloud.send(p.id!, body.topic, body.payload ?? {}, timeout));
      } catch (err) {
        return json({ error: err instanceof Error ? err.message : String(err) }, 504);
      }
    },
  },
];

/** A request handler that dispatches over `routes` in order (404 JSON when none matches). */
export function router<C>(
  ctx: C,
  routes: {
    method: string;
    path: string;
    handler: (ctx: C, req: Request, params: Record<string, string>) => Promise<Response>;
  }[],
): (req: Request) => Promise<Response> {
  const table = routes.map((r) => ({ ...r, pattern: new URLPattern({ pathname: r.path }) }));
  return async (req) => {
    const url = new URL(req.url);
    for (const route of table) {
      if (route.method !== req.method) continue;
      const m = route.pattern.exec({ pathname: url.pathname });
      if (m) {
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(m.pathname.groups)) if (v !== undefined) params[k] = v;
        try {
          return await route.handler(ctx, req, params);
        } catch (err) {
          return json({ error: err instanceof Error ? err.message : String(err) }, 500);
        }
      }
    }
    return json({ error: `No route for ${req.method} ${url.pathname}` }, 404);
  };
}

/** Serves the routes (built-ins first, then `extra`) on 127.0.0.1:`port`. */
export function serveApi(
  ctx: ApiContext,
  port: number,
  extra: Route[],
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    router(ctx, [...ROUTES, ...extra]),
  );
}
