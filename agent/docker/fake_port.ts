/**
 * A fake {@linkcode DockerPort} for unit tests: give it only the calls a test is about; any other
 * call throws `Not implemented: <call>`.
 *
 * @module
 */
import type { DockerPort } from "./port.ts";

/** Builds a port from the given methods; the rest throw `Not implemented: <name>`. */
export function fakePort(impl: Partial<DockerPort>): DockerPort {
  return new Proxy(impl as DockerPort, {
    get(target, prop: string) {
      if (prop in target) return target[prop as keyof DockerPort];
      return () => {
        throw new Error(`Not implemented: ${prop}`);
      };
    },
  });
}
