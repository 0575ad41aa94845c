/**
 * A read-only container registry for tests (the Registry HTTP API v2, the part a `docker pull`
 * uses) serving one image from `docker save` output (an OCI layout): no registry is reachable
 * from this machine, and the engine pulls from 127.0.0.1 over plain HTTP without configuration.
 *
 * @module
 */
import { sh } from "./docker_helpers.ts";

/** A running registry: `ref` pulls the saved image; `stop()` ends it and removes its files. */
export interface OciRegistry {
  ref: string;
  /** Requests served, e.g. `GET /v2/eo-test/img/manifests/1 200`. */
  log: string[];
  stop(): Promise<void>;
}

/** Serves `image` (saved from the local engine) as `127.0.0.1:<port>/eo-test/img:1`. */
export async function serveImage(image: string): Promise<OciRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "eo_registry_" });
  await sh("docker", "save", image, "-o", `${dir}/image.tar`);
  await sh("tar", "-xf", `${dir}/image.tar`, "-C", dir);
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  const manifest = index.manifests[0] as { digest: string; mediaType: string };
  const blob = (digest: string) => `${dir}/blobs/${digest.replace(":", "/")}`;
  const log: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const answer = async (): Promise<Response> => {
      const headers = { "Docker-Distribution-API-Version": "registry/2.0" };
      if (path === "/v2/") return new Response("{}", { headers });
      const m = /^\/v2\/eo-test\/img\/(manifests|blobs)\/(.+)$/.exec(path);
      if (!m) return new Response("not found", { status: 404, headers });
      const digest = m[1] === "manifests" && m[2] === "1" ? manifest.digest : m[2]!;
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return new Response("bad", { status: 404 });
      const file = await Deno.readFile(blob(digest)).catch(() => null);
      if (!file) return new Response("unknown blob", { status: 404, headers });
      return new Response(req.method === "HEAD" ? null : file, {
        headers: {
          ...headers,
          "Content-Type": m[1] === "manifests" ? manifest.mediaType : "application/octet-stream",
          "Content-Length": String(file.length),
          "Docker-Content-Digest": digest,
        },
      });
    };
    const res = await answer();
    log.push(`${req.method} ${path} ${res.status}`);
    return res;
  });
  return {
    ref: `127.0.0.1:${server.addr.port}/eo-test/img:1`,
    log,
    stop: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
