/**
 * Stand-in for the OpenPLC v4 runtime's HTTPS API (protocol.md §7), for tests and the demo: no
 * registry is reachable here, so the real image cannot be pulled. Serves on 8443 with the
 * self-signed certificate baked into the image. The endpoints the agent, the cloud and the tests use,
 * with the real runtime's status codes and bodies (original-agent-reference.md §15).
 *
 * @module
 */

// Tokens live 15 minutes, like the runtime's JWTs.
const TOKEN_TTL_S = 15 * 60;
const VERSION = "4.0.0-standin";

/** username -> password and role; the first account is always `admin` (§15). */
const users = new Map<string, { password: string; role: "admin" | "user"; id: number }>();
let plcRunning = Deno.env.get("STANDIN_AUTOSTART") === "1";
let compilation: { status: "IDLE" | "COMPILING" | "SUCCESS"; logs: string[] } = {
  status: "IDLE",
  logs: [],
};
const logs: { id: number; message: string; timestamp: string }[] = [];
const log = (message: string) =>
  logs.push({ id: logs.length + 1, message, timestamp: new Date().toISOString() });
log("runtime started");
/** Milliseconds from upload to SUCCESS: the real runtime compiles in a thread and the editor polls
 * `compilation-status` every second, so one poll sees COMPILING. */
const COMPILE_MS = Number(Deno.env.get("STANDIN_COMPILE_MS") ?? 1000);
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

/** The account a valid, unexpired Bearer token names; a Flask-JWT-style 401 message otherwise. */
async function bearer(req: Request): Promise<{ username: string } | { error: string }> {
  const header = req.headers.get("authorization");
  if (!header) return { error: "Missing Authorization Header" };
  const m = /^Bearer (.+)$/.exec(header);
  const parts = m?.[1]?.split(".");
  if (!parts || parts.length !== 3) return { error: "Bad Authorization header" };
  const [head, body, sig] = parts as [string, string, string];
  try {
    const ok = await crypto.subtle.verify(
      "HMAC",
      secret,
      unb64url(sig),
      enc.encode(`${head}.${body}`),
    );
    const claims = JSON.parse(new TextDecoder().decode(unb64url(body)));
    if (!ok) return { error: "Signature verification failed" };
    if (typeof claims.exp !== "number" || claims.exp <= Date.now() / 1000) {
      return { error: "Token has expired" };
    }
    if (!users.has(claims.sub)) return { error: "User not found" };
    return { username: claims.sub };
  } catch {
    return { error: "Invalid token" };
  }
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

async function credentials(
  req: Request,
): Promise<{ username: string; password: string; role?: string } | null> {
  try {
    const type = req.headers.get("content-type") ?? "";
    const raw = type.includes("json")
      ? await req.json()
      : Object.fromEntries((await req.formData()).entries());
    if (typeof raw?.username === "string" && typeof raw?.password === "string") return raw;
  } catch { /* fall through */ }
  return null;
}

/** `POST /api/create-user`: the first account needs no token and is admin; later ones need an
 * admin's token (§15). */
async function createUser(req: Request): Promise<Response> {
  if (users.size > 0) {
    const who = await bearer(req);
    if ("error" in who) return json({ msg: "Authentication required" }, 401);
    if (users.get(who.username)?.role !== "admin") {
      return json({ msg: "Admin privileges required" }, 403);
    }
  }
  const c = await credentials(req);
  if (!c || !c.username || !c.password) {
    return json({ msg: "Missing username or password" }, 400);
  }
  if (users.has(c.username)) return json({ msg: "Username already exists" }, 409);
  const role = users.size === 0 ? "admin" : c.role === "admin" ? "admin" : "user";
  const id = users.size + 1;
  users.set(c.username, { password: c.password, role, id });
  return json({ msg: "User created", id, role }, 201);
}

/** JWT-guarded `GET /api/<command>`: HTTP 200 for known and unknown commands alike (§15). */
function command(name: string): Response {
  switch (name) {
    case "ping":
      return json({ status: "PING:OK" });
    case "status":
      return json({ status: plcRunning ? "STATUS:RUNNING" : "STATUS:STOPPED" });
    case "start-plc":
      if (plcRunning) return json({ status: "START:ERROR_ALREADY_RUNNING" });
      plcRunning = true;
      log("PLC started");
      return json({ status: "START:OK" });
    case "stop-plc":
      if (!plcRunning) return json({ status: "STOP:ERROR" });
      plcRunning = false;
      log("PLC stopped");
      return json({ status: "STOP:OK" });
    case "runtime-logs":
      return json({ "runtime-logs": logs });
    case "compilation-status":
      return json({
        status: compilation.status,
        logs: compilation.logs,
        exit_code: compilation.status === "SUCCESS" ? 0 : null,
      });
  }
  return json({ error: "Unknown argument" });
}

async function upload(req: Request): Promise<Response> {
  const form = await req.formData().catch(() => null);
  const file = form?.get("file");
  if (!(file instanceof File)) {
    return json({ UploadFileFail: "No file part in the request", CompilationStatus: "FAILED" });
  }
  if (compilation.status === "COMPILING") {
    return json({
      UploadFileFail: "Runtime is compiling another program, please wait",
      CompilationStatus: "FAILED",
    });
  }
  const size = (await file.arrayBuffer()).byteLength;
  log(`uploaded ${file.name} (${size} bytes)`);
  compilation = { status: "COMPILING", logs: [`compiling ${file.name}`] };
  setTimeout(() => {
    compilation = { status: "SUCCESS", logs: [...compilation.logs, "compilation finished"] };
  }, COMPILE_MS);
  // `filename` and `size` are the stand-in's own additions, so tests can see what arrived.
  return json({
    UploadFileFail: "",
    CompilationStatus: "COMPILING",
    ProjectSnapshotWarning: "",
    filename: file.name,
    size,
  });
}

async function route(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  const route = `${req.method} ${pathname}`;
  // Unauthenticated endpoints.
  if (route === "GET /api/version") return json({ version: VERSION });
  if (route === "GET /api/capabilities") {
    return json({ runtimeVersion: VERSION, minEditorVersion: "4.0.0", projectSnapshot: true });
  }
  if (route === "POST /api/login") {
    const c = await credentials(req);
    if (!c || users.get(c.username)?.password !== c.password) {
      return json("Wrong username or password", 401);
    }
    return json({ access_token: await issue(c.username) });
  }
  if (route === "POST /api/create-user") return await createUser(req);
  const who = await bearer(req);
  if (route === "GET /api/get-users-info" && "error" in who) {
    return users.size === 0
      ? json({ msg: "No users found" }, 404)
      : json({ msg: "Users found" }, 200);
  }
  if ("error" in who) return json({ msg: who.error }, 401);
  if (route === "GET /api/whoami") {
    const u = users.get(who.username)!;
    return json({ id: u.id, username: who.username, role: u.role });
  }
  if (route === "GET /api/get-users-info") {
    return json([...users].map(([username, u]) => ({ id: u.id, username, role: u.role })));
  }
  if (route === "POST /api/upload-file") return await upload(req);
  if (req.method === "GET" && pathname.startsWith("/api/")) return command(pathname.slice(5));
  if (req.method === "POST" && pathname.startsWith("/api/")) {
    return json({ PostRequestError: "Unknown argument" });
  }
  return json({ msg: "Not found" }, 404);
}

/** Every response carries the runtime's version header, like the real one's `/api` responses. */
async function handle(req: Request): Promise<Response> {
  const res = await route(req);
  res.headers.set("X-OpenPLC-Runtime-Version", VERSION);
  return res;
}

// As PID 1 the process gets no default signal handling: exit on SIGTERM so `docker stop` is quick.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

// The real runtime sets up plugin environments before its API listens (its health check allows a
// 90 s start period). STANDIN_API_DELAY_MS reproduces a slow start so tests can see the runtime
// "running" but not yet answering (health `starting`); 0 (the default) listens at once.
const delayMs = Number(Deno.env.get("STANDIN_API_DELAY_MS") ?? 0);
if (Number.isFinite(delayMs) && delayMs > 0) {
  console.log(`stand-in runtime: API starts in ${delayMs} ms`);
  await new Promise((r) => setTimeout(r, delayMs));
}

Deno.serve({
  port: 8443,
  hostname: "0.0.0.0",
  cert: Deno.readTextFileSync("/app/cert.pem"),
  key: Deno.readTextFileSync("/app/key.pem"),
  onListen: ({ port }) => console.log(`stand-in runtime listening on https://0.0.0.0:${port}`),
}, handle);
