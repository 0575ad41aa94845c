/**
 * The dev control plane's JSON API on loopback, as a route table: add a route by appending to
 * the list. The web page and its routes are in `web.ts`; the provisioning routes (served over
 * HTTPS on their own listener) in `provision.ts`.
 *
 * Any web page open in the same browser can send requests to 127.0.0.1, and a DNS-rebinding page
 * can even read the answers; the API can create and delete runtimes. So every request passes
 * {@linkcode guard} first:
 * - `Host` must be `127.0.0.1:<port>` or `localhost:<port>` (a rebound name is refused);
 * - an `Origin`, when sent, must be that same origin (a cross-site page is refused);
 * - every route but the page itself (`GET /`, static, no secret) needs the per-start token,
 *   as `Authorization: Bearer <token>` (the page gets it from its address, `/#token=...`;
 *   local tools from `<dir>/api-token`, mode 600);
 * - a body is accepted only as `application/json` (a cross-site form or `text/plain` post,
 *   which browsers send without asking, is refused).
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

/** What {@linkcode guard} checks against. */
export interface GuardOptions {
  /** The per-start token. */
  token: string;
  /** The port the API listens on (Host and Origin name it). */
  port: number;
}

/** Paths that answer without the token: the page (static HTML that holds no secret). */
const OPEN_PATHS = new Set(["/"]);

/** Compares in constant time (the token must not leak through timing). */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % Math.max(1, y.length)] ?? 0);
  return diff === 0;
}

/** The refusal for a request that fails a check, or null when it may proceed. Pure. */
export function guard(req: Request, opts: GuardOptions): Response | null {
  const hosts = [`127.0.0.1:${opts.port}`, `localhost:${opts.port}`];
  const host = (req.headers.get("host") ?? "").toLowerCase();
  if (!hosts.includes(host)) {
    return json({ error: `Refused: Host "${host}" is not this control plane's address` }, 403);
  }
  const origin = req.headers.get("origin");
  if (origin !== null && !hosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
    return json({ error: `Refused: requests from ${origin} are not accepted` }, 403);
  }
  const url = new URL(req.url);
  const open = req.method === "GET" && OPEN_PATHS.has(url.pathname);
  if (!open) {
    const m = /^Bearer (\S+)$/.exec(req.headers.get("authorization") ?? "");
    if (!m || !sameSecret(m[1]!, opts.token)) {
      return json({
        error: "Missing or wrong token: open the address printed by `deno task devcloud`, " +
          "or send Authorization: Bearer <the content of <dir>/api-token>",
      }, 401);
    }
  }
  const hasBody = req.body !== null ||
    !["GET", "HEAD", "DELETE", "OPTIONS"].includes(req.method);
  if (hasBody) {
    const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      return json({ error: `Refused: body must be application/json (got "${type}")` }, 415);
    }
  }
  return null;
}

/** Headers that keep the page out of other sites' frames (no click-jacking of its buttons). */
const SAFE_HEADERS: Record<string, string> = {
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
};

/** Serves the routes (built-ins first, then `extra`) on 127.0.0.1:`port`, behind the guard. */
export function serveApi(
  ctx: ApiContext,
  port: number,
  extra: Route[],
  token: string,
): Deno.HttpServer<Deno.NetAddr> {
  const route = router(ctx, [...ROUTES, ...extra]);
  // The port is known only once listening (port 0 picks one).
  let bound = port;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    async (req) => {
      const res = guard(req, { token, port: bound }) ?? await route(req);
      for (const [k, v] of Object.entries(SAFE_HEADERS)) res.headers.set(k, v);
      return res;
    },
  );
  bound = server.addr.port;
  return server;
}
