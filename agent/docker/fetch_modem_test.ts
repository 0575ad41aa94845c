import assert from "node:assert/strict";
import {
  buildRequest,
  EngineHttpError,
  followProgress,
  ndjsonSplitter,
  queryString,
  readText,
} from "./fetch_modem.ts";

Deno.test("queryString: objects as JSON, arrays as repeated keys, scalars as text", () => {
  const table: [Record<string, unknown>, string][] = [
    [{ all: true }, "all=true"],
    [{ t: 2, force: false }, "t=2&force=false"],
    [{ filters: { label: ["a=1"] } }, "filters=%7B%22label%22%3A%5B%22a%3D1%22%5D%7D"],
    [{ name: "plc 1/x" }, "name=plc%201%2Fx"],
    [{ a: ["x", "y"] }, "a=x&a=y"],
    [{ a: null, b: undefined }, "a=&b="],
  ];
  for (const [opts, want] of table) assert.equal(queryString(opts), want, JSON.stringify(opts));
});

Deno.test("buildRequest: what docker-modem sends for the calls the agent makes", () => {
  const signal = new AbortController().signal;
  const codes = { 200: true };
  // GET with options: query only, the abort signal never in it.
  assert.deepEqual(
    buildRequest({
      path: "/containers/json?",
      method: "GET",
      options: { all: true, abortSignal: signal },
      statusCodes: codes,
    }),
    { path: "/containers/json?all=true", method: "GET", headers: {}, body: undefined },
  );
  // A path ending in "?" without options loses the "?".
  assert.equal(
    buildRequest({ path: "/version?", method: "GET", options: {}, statusCodes: codes }).path,
    "/version",
  );
  // POST: options in the query and as the JSON body (the engine reads `name` from the query).
  const create = buildRequest({
    path: "/containers/create?",
    method: "POST",
    options: { name: "plc", Image: "img", abortSignal: signal },
    statusCodes: codes,
  });
  assert.equal(create.path, "/containers/create?name=plc&Image=img");
  assert.equal(create.body, '{"name":"plc","Image":"img"}');
  assert.equal(create.headers["Content-Type"], "application/json");
  // POST with only the signal: no body.
  const start = buildRequest({
    path: "/containers/plc/start?",
    method: "POST",
    options: { abortSignal: signal },
    statusCodes: codes,
  });
  assert.deepEqual(start, {
    path: "/containers/plc/start",
    method: "POST",
    headers: {},
    body: undefined,
  });
  // `_query` / `_body` split the two.
  const split = buildRequest({
    path: "/x?",
    method: "POST",
    options: { _query: { a: 1 }, _body: { b: 2 } },
    statusCodes: codes,
  });
  assert.equal(split.path, "/x?a=1");
  assert.equal(split.body, '{"b":2}');
  // allowEmpty sends "{}".
  assert.equal(
    buildRequest({ path: "/v", method: "POST", options: {}, allowEmpty: true, statusCodes: codes })
      .body,
    "{}",
  );
});

Deno.test("buildRequest refuses what the agent's transport does not do", () => {
  for (
    const extra of [{ file: "ctx.tar" }, { hijack: true }, { openStdin: true }, {
      authconfig: { username: "u" },
    }]
  ) {
    assert.throws(
      () => buildRequest({ path: "/x", method: "POST", statusCodes: {}, ...extra }),
      TypeError,
    );
  }
});

Deno.test("EngineHttpError reads as docker-modem's error", () => {
  const e = new EngineHttpError(404, "no such container", { message: "No such container: x" }, "");
  assert.equal(e.message, "(HTTP code 404) no such container - No such container: x ");
  assert.equal(e.statusCode, 404);
  assert.equal(e.reason, "no such container");
  assert.deepEqual(e.json, { message: "No such container: x" });
  const raw = new EngineHttpError(502, undefined, undefined, "Bad Gateway");
  assert.equal(raw.message, "(HTTP code 502) unexpected - Bad Gateway ");
});

Deno.test("ndjsonSplitter: lines across chunks, blank lines, a bad line skipped", () => {
  const got: unknown[] = [];
  const bad: string[] = [];
  const push = ndjsonSplitter((o) => got.push(o), (l) => bad.push(l));
  push('{"a":1}\n{"b"');
  push(":2}\r\n\n");
  push("not json\n");
  push('{"c":3}');
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }]);
  push("\n");
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }, { c: 3 }]);
  assert.deepEqual(bad, ["not json"]);
});

function streamOf(chunks: string[], fail?: Error): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const s of chunks) c.enqueue(enc.encode(s));
      if (fail) c.error(fail);
      else c.close();
    },
  });
}

Deno.test("followProgress: every line to onProgress, then all of them to onFinished", async () => {
  const progress: unknown[] = [];
  const done = Promise.withResolvers<[unknown, unknown[]]>();
  followProgress(
    streamOf([
      '{"status":"Pulling"}\n{"status":"Downlo',
      'ading","progressDetail":{}}\n{"status":"Done"}',
    ]),
    (err, out) => done.resolve([err, out]),
    (p) => progress.push(p),
  );
  const [err, out] = await done.promise;
  assert.equal(err, null);
  assert.equal(out.length, 3);
  assert.deepEqual(progress, out);
});

Deno.test("followProgress: a broken stream, a bad line and an abort are errors", async () => {
  const run = (s: ReadableStream<Uint8Array>, signal?: AbortSignal) =>
    new Promise<unknown>((resolve) => followProgress(s, (e) => resolve(e), () => {}, signal));
  assert.match(String(await run(streamOf(['{"a":1}\n'], new Error("reset")))), /reset/);
  assert.ok(await run(streamOf(["<html>\n"])) instanceof SyntaxError);
  const ac = new AbortController();
  const endless = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
  const aborted = run(endless, ac.signal);
  ac.abort();
  assert.match(String(await aborted), /aborted/);
});

Deno.test("readText: resolves when aborted, even while a read is pending", async () => {
  const ac = new AbortController();
  const texts: string[] = [];
  const endless = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(new TextEncoder().encode("héllo")),
    pull: () => new Promise(() => {}),
  });
  const reading = readText(endless, (t) => texts.push(t), ac.signal);
  await new Promise((r) => setTimeout(r, 10));
  ac.abort();
  await reading;
  assert.equal(texts.join(""), "héllo");
});
