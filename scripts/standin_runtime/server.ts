/**
 * Stand-in for the OpenPLC v4 runtime's HTTPS API (protocol.md §7), for tests and the demo: no
 * registry is reachable here, so the real image cannot be pulled. Serves on 8443 with the
 * self-signed certificate baked into the image. Only the endpoints the agent and the cloud use.
 *
 * @module
 */

// Tokens live 15 minutes, like the runtime's JWTs.
const TOKEN_TTL_S = 15 * 60;
const VERSION = "4.0.0-standin";

const users = new Map<string, string>();
let plcRunning = Deno.env.get("STANDIN_AUTOSTART") === "1";
const logs: string[] = [`${new Date().toISOString()} runtime started`];
const secret = await crypto.subtle.importKey(
  "raw",
  crypto.getRandomValues(new Uint8Array(32)),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign", "verify"],
);

const enc = new TextEncoder();
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const unb64url = (s: string) =>
  Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

async function issue(username: string): Promise<string> {
  const head = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const now = Math.floor(Date.now() / 1000);
  const body = b64url(
    enc.encode(JSON.stringify({ sub: username, iat: now, exp: now + TOKEN_TTL_S })),
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign("HMAC", secret, enc.encode(`${head}.${body}`)),
  );
  return `${head}.${body}.${b64url(sig)}`;
}

async function authorised(req: Request): Promise<boolean> {
  const m = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "");
  const parts = m?.[1]?.split(".");
  if (!parts || parts.length !== 3) return false;
  const [head, body, sig] = parts as [string, string, string];
  try {
    const ok = await crypto.subtle.verify(
      "HMAC",
      secret,
      unb64url(sig),
      enc.encode(`${head}.${body}`),
    );
    const claims = JSON.parse(new TextDecoder().decode(unb64url(body)));
    return ok && typeof claims.exp === "number" && claims.exp > Date.now() / 1000;
  } catch {
    return false;
  }
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

async function credentials(req: Request): Promise<{ username: string; password: string } | null> {
  try {
    const type = req.headers.get("content-type") ?? "";
    const raw = type.includes("json")
      ? await req.json()
      : Object.fromEntries((await req.formData()).entries());
    if (typeof raw?.username === "string" && typeof raw?.password === "string") return raw;
  } catch { /* fall through */ }
  return null;
}

async function handle(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  const route = `${req.method} ${pathname}`;
  if (route === "GET /api/version") return json({ version: VERSION });
  if (route === "POST /api/login") {
    const c = await credentials(req);
    if (!c || users.get(c.username) !== c.password) return json({ msg: "Bad credentials" }, 401);
    return json({ access_token: await issue(c.username) });
  }
  if (route === "POST /api/create-user") {
    if (users.size > 0 && !(await authorised(req))) return json({ msg: "Unauthorized" }, 401);
    const c = await credentials(req);
    if (!c) return json({ msg: "username and password required" }, 400);
    users.set(c.username, c.password);
    return json({ msg: "User created" }, 201);
  }
  if (!(await authorised(req))) return json({ msg: "Missing or invalid token" }, 401);
  switch (route) {
    case "GET /api/ping":
      return json({ status: "PING:OK" });
    case "GET /api/status":
      return json({ status: plcRunning ? "STATUS:RUNNING" : "STATUS:STOPPED" });
    case "GET /api/start-plc":
      plcRunning = true;
      logs.push(`${new Date().toISOString()} PLC started`);
      return json({ status: "START:OK" });
    case "GET /api/stop-plc":
      plcRunning = false;
      logs.push(`${new Date().toISOString()} PLC stopped`);
      return json({ status: "STOP:OK" });
    case "GET /api/runtime-logs":
      return json({ "runtime-logs": logs.join("\n") });
    case "GET /api/compilation-status":
      return json({ status: "SUCCESS", logs: [], exit_code: 0 });
    case "POST /api/upload-file": {
      const form = await req.formData().catch(() => null);
      const file = form?.get("file");
      if (!(file instanceof File)) return json({ msg: "multipart field 'file' required" }, 400);
      const size = (await file.arrayBuffer()).byteLength;
      logs.push(`${new Date().toISOString()} uploaded ${file.name} (${size} bytes)`);
      return json({ UploadFileFail: "", CompilationStatus: "SUCCESS", filename: file.name, size });
    }
  }
  return json({ msg: "Not found" }, 404);
}

// As PID 1 the process gets no default signal handling: exit on SIGTERM so `docker stop` is quick.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

Deno.serve({
  port: 8443,
  hostname: "0.0.0.0",
  cert: Deno.readTextFileSync("/app/cert.pem"),
  key: Deno.readTextFileSync("/app/key.pem"),
  onListen: ({ port }) => console.log(`stand-in runtime listening on https://0.0.0.0:${port}`),
}, handle);
