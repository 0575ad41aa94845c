/**
 * `get_host_interfaces`: netmon's view plus the system's list, sorted by name.
 *
 * @module
 */
import type { Handler } from "./types.ts";
import { hostInterfaces, type SystemAddress } from "../runtimes/host_interfaces.ts";
import type { InterfaceView } from "../runtimes/interface_view.ts";

/** Dependencies. */
export interface GetHostInterfacesDeps {
  /** netmon's view. */
  view: InterfaceView;
  /** The system's interfaces (`Deno.networkInterfaces`, needs `--allow-sys=networkInterfaces`). */
  system?: () => SystemAddress[];
}

/** Handler. */
export const getHostInterfaces: Handler<"get_host_interfaces", GetHostInterfacesDeps> = (
  deps,
  msg,
) => {
  const system = (deps.system ?? (() => Deno.networkInterfaces()))();
  return Promise.resolve({
    status: "success",
    interfaces: hostInterfaces(deps.view.list(), system, msg),
  });
};
