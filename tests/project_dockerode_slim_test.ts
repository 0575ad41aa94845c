/** dockerode loads without gRPC and ssh2 (agent/docker/dockerode_slim.ts). Needs env access (readable-stream reads it as dockerode loads), so it lives in the tier tests. */
import assert from "node:assert/strict";
import { slimmedModules } from "../agent/docker/dockerode_slim.ts";
import { dockerodePort } from "../agent/docker/dockerode_adapter.ts";

Deno.test("dockerode loads with gRPC, docker-modem and the build-only packages stood in (the agent's RSS budget)", () => {
  assert.equal(typeof dockerodePort, "function");
  assert.deepEqual(slimmedModules(), [
    "@balena/dockerignore",
    "@grpc/grpc-js",
    "@grpc/proto-loader",
    "docker-modem",
    "tar-fs",
    "uuid",
  ]);
});
