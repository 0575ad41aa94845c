/**
 * Keeps dockerode's eager dependencies that the agent never uses out of its memory. Import it
 * before dockerode (the adapter's first import does).
 *
 * dockerode loads `@grpc/grpc-js` and `@grpc/proto-loader` when it starts, only for BuildKit
 * sessions of `buildImage`, and `tar-fs` and `@balena/dockerignore`, only for `buildImage`'s
 * build contexts, and `uuid` (which loads Node's `crypto`), only for BuildKit session ids. It
 * loads `docker-modem`, its default transport, which the agent replaces (./fetch_modem.ts), so
 * docker-modem's own load (Node's http, streams, `ssh2`) never happens either. The agent builds
 * no images and talks to the local engine's Unix socket only, so none is ever used.
 * Measured with the agent's other imports (then socket.io-client, and zod) already loaded:
 * dockerode adds 18 MiB of RSS, 5 MiB without them; the whole agent idled at ~73 MiB instead of
 * ~83 (budget 70). The session has spoken Socket.IO itself since (decision 0001).
 *
 * How: a hook on Node's CommonJS loader (`Module._load`, which Deno's npm support implements)
 * answers those requests, when they come from dockerode or docker-modem, with a stand-in
 * whose every member throws a clear error if it is ever called. Nothing else is touched.
 * `slimmedModules()` says which stand-ins were handed out; a test checks that all of them
 * were, so a Deno or dockerode release that loads them another way is noticed, not silently
 * paid for.
 *
 * @module
 */
import Module from "node:module";

/** Requests answered with a stand-in, and why the real module is not needed. */
const UNUSED: Record<string, string> = {
  "@grpc/grpc-js": "BuildKit sessions of buildImage (the agent builds no images)",
  "@grpc/proto-loader": "BuildKit sessions of buildImage (the agent builds no images)",
  "tar-fs": "build contexts of buildImage (the agent builds no images)",
  "@balena/dockerignore": "build contexts of buildImage (the agent builds no images)",
  "uuid": "session ids of buildImage's BuildKit sessions (the agent builds no images)",
  "docker-modem":
    "dockerode's default transport (the agent gives dockerode its own, fetch_modem.ts)",
};

/** Only these packages' requests are answered: no other package can be affected. */
const FROM = /[\\/](dockerode|docker-modem)[\\/]/;
/**
 * The shipped agent is one bundled file (`deno task bundle`, docs/decisions/0012): there every
 * `require` comes from that file, which is also this module's own. From the source tree this is
 * dockerode_slim.ts itself, which requires nothing, so the extra match changes nothing there.
 */
const SELF = import.meta.filename ?? "";

const handedOut = new Set<string>();

/** A module whose every member throws, naming what would have needed it. */
function standIn(request: string): unknown {
  const fail = function () {
    throw new Error(
      `${request} is not loaded in the agent: it is only needed for ${UNUSED[request]}`,
    );
  };
  return new Proxy({}, {
    get(_target, prop) {
      // Interop probes (`__esModule`, `then`, symbols) must see a plain empty object.
      if (typeof prop !== "string" || prop === "__esModule" || prop === "then") return undefined;
      return fail;
    },
  });
}

interface CjsLoader {
  _load(request: string, parent?: { filename?: string | null }, isMain?: boolean): unknown;
}

const loader = Module as unknown as CjsLoader;
const original = loader._load;
loader._load = function (request, parent, isMain) {
  const from = parent?.filename ?? "";
  if (request in UNUSED && (FROM.test(from) || (SELF !== "" && from === SELF))) {
    handedOut.add(request);
    return standIn(request);
  }
  return original.call(this, request, parent, isMain);
};

/**
 * Every request answered with a stand-in (sorted). The agent's bundle (permissions.json
 * `agent.bundle.external`) leaves exactly these out, so that they are asked for at run time and
 * answered here; a test checks the two lists agree.
 */
export const SLIMMED: readonly string[] = Object.keys(UNUSED).sort();

/** The modules dockerode asked for and got a stand-in for (sorted). */
export function slimmedModules(): string[] {
  return [...handedOut].sort();
}
