import assert from "node:assert/strict";
import { guard } from "./api.ts";

const OPTS = { token: "s3cret-token", port: 8444 };
const AUTH = { authorization: "Bearer s3cret-token" };
const JSON_TYPE = { "content-type": "application/json" };

/** [name, method, path, headers, body, expected status (null: accepted)] */
const ROWS: [string, string, string, Record<string, string>, string | null, number | null][] = [
  ["page without token", "GET", "/", { host: "127.0.0.1:8444" }, null, null],
  ["page via localhost", "GET", "/", { host: "localhost:8444" }, null, null],
  ["page via a rebound name", "GET", "/", { host: "evil.example:8444" }, null, 403],
  ["page on another port", "GET", "/", { host: "127.0.0.1:9999" }, null, 403],
  ["api with token", "GET", "/api/overview", { host: "127.0.0.1:8444", ...AUTH }, null, null],
  ["api without token", "GET", "/api/overview", { host: "127.0.0.1:8444" }, null, 401],
  [
    "api with a wrong token",
    "GET",
    "/api/agents",
    {
      host: "127.0.0.1:8444",
      authorization: "Bearer s3cret-tokeN",
    },
    null,
    401,
  ],
  [
    "api with a longer token",
    "GET",
    "/api/agents",
    {
      host: "127.0.0.1:8444",
      authorization: "Bearer s3cret-token-and-more",
    },
    null,
    401,
  ],
  [
    "same origin",
    "GET",
    "/api/agents",
    {
      host: "127.0.0.1:8444",
      origin: "http://127.0.0.1:8444",
      ...AUTH,
    },
    null,
    null,
  ],
  [
    "cross-site origin",
    "GET",
    "/api/agents",
    {
      host: "127.0.0.1:8444",
      origin: "https://evil.example",
      ...AUTH,
    },
    null,
    403,
  ],
  [
    "cross-site origin on the page",
    "GET",
    "/",
    {
      host: "127.0.0.1:8444",
      origin: "http://evil.example",
    },
    null,
    403,
  ],
  [
    "json post",
    "POST",
    "/api/agents/a/runtimes",
    {
      host: "127.0.0.1:8444",
      ...AUTH,
      "content-type": "application/json; charset=utf-8",
    },
    "{}",
    null,
  ],
  [
    "text/plain post (a form any site may send)",
    "POST",
    "/api/agents/a/runtimes",
    {
      host: "127.0.0.1:8444",
      ...AUTH,
      "content-type": "text/plain",
    },
    "{}",
    415,
  ],
  [
    "post without a type",
    "POST",
    "/api/agents/a/runtimes/x/delete",
    {
      host: "127.0.0.1:8444",
      ...AUTH,
    },
    null,
    415,
  ],
  [
    "json post without token",
    "POST",
    "/api/agents/a/send",
    {
      host: "127.0.0.1:8444",
      ...JSON_TYPE,
    },
    "{}",
    401,
  ],
];

for (const [name, method, path, headers, body, want] of ROWS) {
  Deno.test(`guard: ${name}`, async () => {
    const req = new Request(`http://127.0.0.1:8444${path}`, { method, headers, body });
    const res = guard(req, OPTS);
    assert.equal(res?.status ?? null, want);
    if (res) assert.equal(typeof (await res.json()).error, "string");
  });
}
