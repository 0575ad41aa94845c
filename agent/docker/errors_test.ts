import assert from "node:assert/strict";
import { wrap } from "./errors.ts";

Deno.test("wrap: engine answers keep their status; a silent socket is named as such", () => {
  const cases: [unknown, string, number][] = [
    [
      { statusCode: 404, json: { message: "No such container: a" } },
      'Cannot inspect container "a": No such container: a',
      404,
    ],
    [
      new Error("connect ENOENT /var/run/docker.sock"),
      'Cannot inspect container "a": connect ENOENT /var/run/docker.sock (the Docker engine is ' +
      "not answering: stopped or restarting)",
      0,
    ],
    [
      { statusCode: 500, message: "socket hang up" },
      'Cannot inspect container "a": socket hang up',
      500,
    ],
  ];
  for (const [err, message, status] of cases) {
    const e = wrap(err, 'Cannot inspect container "a"');
    assert.equal(e.message, message);
    assert.equal(e.statusCode, status);
  }
});
