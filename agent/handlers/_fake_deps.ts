/**
 * Handler dependencies for unit tests: every port answers as an agent with no runtimes would
 * (commands refused with a clear error, no runtime known); tests replace what they are about.
 *
 * @module
 */
import type { HandlerDeps } from "./mod.ts";
import { silentLogger } from "../log.ts";

/** Dependencies of the handler table for tests; `over` replaces whole ports. */
export function fakeHandlerDeps(over: Partial<HandlerDeps> = {}): HandlerDeps {
  const refuse = (what: string) => () =>
    Promise.reject(new Error(`${what} is not available in this test`));
  return {
    commands: {
      create: refuse("create_new_runtime"),
      delete: refuse("delete_device"),
      start: refuse("start_device"),
      stop: refuse("stop_device"),
      restart: refuse("restart_device"),
      selfDestruct: refuse("delete_orchestrator"),
    },
    runtimes: {
      status: (d) =>
        Promise.resolve({
          status: "not_found",
          device_id: d,
          message: `Container ${d} does not exist`,
        }),
      endpoint: () => null,
    },
    limits: () => Promise.resolve(null),
    query: () => ({ cpu_usage: [], memory_usage: [] }),
    host: {
      consumption: { query: () => [] } as unknown as HandlerDeps["host"]["consumption"],
      facts: () =>
        Promise.resolve({ ip_addresses: [], memory: 0, cpu: 1, os: "Linux", kernel: "", disk: 0 }),
      now: () => 0,
    },
    interfaces: {
      view: {
        get: () => undefined,
        list: () => [],
        synced: false,
        absence: () => "unknown",
      },
    },
    serial: { list: () => Promise.resolve([]) },
    run: { pin: () => Promise.resolve(), log: silentLogger },
    ...over,
  };
}
