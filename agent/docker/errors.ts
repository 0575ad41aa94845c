/**
 * Docker engine failures as {@link DockerError}s: pure, so it is tested without dockerode (whose
 * import reads the environment).
 *
 * @module
 */
import { DockerError } from "./port.ts";

/** Engine errors with the operation named; a socket that does not answer says so in words, since
 * "connect ENOENT /var/run/docker.sock" alone does not tell an operator that dockerd is down. */
export function wrap(err: unknown, what: string): DockerError {
  const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
  const detail = (e?.json?.message ?? e?.message ?? String(err)).trim();
  const unreachable = e?.statusCode === undefined &&
    /ENOENT|ECONNREFUSED|ECONNRESET|EPIPE|socket hang up/.test(detail);
  return new DockerError(
    `${what}: ${detail}${
      unreachable ? " (the Docker engine is not answering: stopped or restarting)" : ""
    }`,
    e?.statusCode ?? 0,
  );
}
