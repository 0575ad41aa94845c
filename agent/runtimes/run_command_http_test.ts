import assert from "node:assert/strict";
import {
  headerProblem,
  headerRecord,
  HttpParseError,
  ResponseParser,
  serializeRequest,
} from "./run_command_http.ts";
import { buildBody, truthy } from "./run_command_body.ts";
import { parseBody, requestTarget, toHttpResponse } from "./run_command.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("headerProblem: tokens and printable values", () => {
  const table: [string, string, boolean][] = [
    ["Authorization", "Bearer x.y.z", true],
    ["X-Custom_1", "tab\there", true],
    ["X-Latin", "caf\u00e9", true],
    ["Bad Name", "v", false],
    ["", "v", false],
    ["X:Y", "v", false],
    ["X-Y", "a\r\nInjected: 1", false],
    ["X-Y", "nul\u0000", false],
    ["X-Y", "snow\u2603", false],
    ["X\u00e9", "v", false],
  ];
  for (const [k, v, ok] of table) {
    assert.equal(headerProblem(k, v) === null, ok, `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  }
  assert.match(headerProblem("X-Y", "a\nb")!, /X-Y/);
});

Deno.test("serializeRequest: head, host, length, keep-alive; refuses what it cannot send", () => {
  const r = dec(
    serializeRequest("POST", "/api/x?a=1", "10.0.0.2:8443", [["X-A", "1"]], enc("{}"), true),
  );
  assert.equal(
    r,
    "POST /api/x?a=1 HTTP/1.1\r\nHost: 10.0.0.2:8443\r\nX-A: 1\r\nContent-Length: 2\r\n" +
      "Connection: keep-alive\r\n\r\n{}",
  );
  const g = dec(serializeRequest("GET", "/", "h", [], null, false));
  assert.equal(g, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  assert.throws(() => serializeRequest("GET", "/", "h", [["A B", "x"]], null, true), TypeError);
  assert.throws(() => serializeRequest("GET", "/", "h", [["A", "x\ny"]], null, true), /A/);
  assert.throws(() => serializeRequest("GET", "/a b", "h", [], null, true), TypeError);
  assert.throws(() => serializeRequest("G ET", "/", "h", [], null, true), TypeError);
});

Deno.test("ResponseParser: content-length, chunked, close-delimited, split anywhere", () => {
  const cases: { raw: string; method?: string; status: number; body: string; reusable: boolean }[] =
    [
      {
        raw:
          'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}',
        status: 200,
        body: '{"a":1}',
        reusable: true,
      },
      {
        raw:
          "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n",
        status: 404,
        body: "abcde",
        reusable: true,
      },
      { raw: "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n", status: 204, body: "", reusable: true },
      {
        raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        method: "HEAD",
        status: 200,
        body: "",
        reusable: true,
      },
      {
        raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        status: 200,
        body: "ok",
        reusable: false,
      },
      {
        raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        status: 200,
        body: "ok",
        reusable: false,
      },
    ];
  for (const c of cases) {
    for (const split of [1, 3, 7, 1000]) {
      const p = new ResponseParser(c.method ?? "GET", 1024);
      const bytes = enc(c.raw);
      let r = null;
      for (let i = 0; i < bytes.length && !r; i += split) r = p.push(bytes.subarray(i, i + split));
      assert.ok(r, `${c.raw.slice(0, 30)} complete (split ${split})`);
      assert.equal(r.status, c.status);
      assert.equal(dec(r.body), c.body);
      assert.equal(r.reusable, c.reusable, c.raw.slice(0, 40));
    }
  }
  const close = new ResponseParser("GET", 1024);
  assert.equal(close.push(enc("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nhello")), null);
  assert.equal(dec(close.end().body), "hello");
});

Deno.test("ResponseParser: garbage, oversize and truncation are typed errors", () => {
  const bad = [
    "SSH-2.0-OpenSSH\r\n\r\n",
    "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n",
  ];
  for (const raw of bad) {
    assert.throws(() => new ResponseParser("GET", 1024).push(enc(raw)), HttpParseError, raw);
  }
  const cut = new ResponseParser("GET", 1024);
  cut.push(enc("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  assert.throws(() => cut.end(), /before the end of the body/);
  assert.throws(() => new ResponseParser("GET", 1024).end(), /before a response/);
  assert.throws(() => new ResponseParser("GET", 1024).push(new Uint8Array(70_000)), /too large/);
});

Deno.test("headerRecord: the server's case, repeats joined as requests does", () => {
  assert.deepEqual(
    headerRecord([["Content-Type", "text/html"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"]]),
    { "Content-Type": "text/html", "Set-Cookie": "a=1, b=2" },
  );
});

Deno.test("the ack's http_response: ok below 400, content_type by JSON parse", () => {
  const mk = (status: number, body: string, type = "text/html") =>
    toHttpResponse({ status, headers: [["Content-Type", type]], body: enc(body), reusable: true });
  assert.deepEqual(mk(200, '{"a":1}'), {
    status_code: 200,
    headers: { "Content-Type": "text/html" },
    ok: true,
    body: { a: 1 },
    content_type: "application/json",
  });
  assert.equal(mk(302, "moved").ok, true);
  assert.equal(mk(404, "nope", "application/json").ok, false);
  assert.equal(mk(404, "nope", "application/json").content_type, "text/plain");
  assert.equal(mk(200, "").content_type, "text/plain");
  assert.deepEqual(parseBody(enc("null")), { body: null, json: true });
});

Deno.test("requestTarget: leading slashes folded to one, params appended", () => {
  const table: [string, Record<string, string | number | boolean> | undefined, string][] = [
    ["/api/status", undefined, "/api/status"],
    ["api/status", undefined, "/api/status"],
    ["//evil.example/x", undefined, "/evil.example/x"],
    ["/api/x?a=1", { b: 2 }, "/api/x?a=1&b=2"],
    ["", { q: "a b&c" }, "/?q=a+b%26c"],
    ["/caf\u00e9", undefined, "/caf%C3%A9"],
  ];
  for (const [api, params, want] of table) assert.equal(requestTarget(api, params), want, api);
});

Deno.test("buildBody: header case kept, JSON by default, form, multipart, falsy data dropped", () => {
  const j = buildBody({ headers: { Authorization: "Bearer t", Host: "x" }, data: { a: 1 } }, "B");
  assert.deepEqual(j.headers, [["Authorization", "Bearer t"], [
    "Content-Type",
    "application/json",
  ]]);
  assert.equal(dec(j.bytes!), '{"a":1}');
  const f = buildBody({
    headers: { "content-type": "application/x-www-form-urlencoded" },
    data: { a: "1 2" },
  });
  assert.equal(dec(f.bytes!), "a=1+2");
  for (const data of [{}, [], "", 0, false, null, undefined]) {
    assert.equal(buildBody({ data }).bytes, null, JSON.stringify(data));
  }
  assert.equal(truthy({ a: 0 }), true);
  const m = buildBody({
    data: { k: "v" },
    files: {
      file: {
        filename: 'a"\r\nb.st',
        content_base64: btoa("PROGRAM"),
        content_type: "text/x\r\nX: 1",
      },
      skipped: { filename: "e", content_base64: "" },
    },
  }, "B");
  const text = dec(m.bytes!);
  assert.match(text, /name="file"; filename="a%22b.st"\r\nContent-Type: application\/octet-stream/);
  assert.doesNotMatch(text, /skipped/);
  assert.match(text, /PROGRAM\r\n--B--\r\n$/);
  assert.deepEqual(m.headers, [["Content-Type", "multipart/form-data; boundary=B"]]);
});
