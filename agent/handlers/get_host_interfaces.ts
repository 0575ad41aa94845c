/**
 * `get_host_interfaces`: netmon's view plus the system's list, sorted by name (reference §4.8).
 * Before netmon reported any interface the answer is the original's error
 * ("Network interface cache is empty. ..."); without `include_virtual` the original's virtual
 * prefixes are left out.
 *
 * @module
 */
import { ackMessages } from "../../contracts/mod.ts";
import type { Handler } from "./types.ts";
import { hostInterfaces, type SystemAddress } from "../runtimes/host_interfaces.ts";
import type { InterfaceView } from "../runtimes/interface_view.ts";
import { ORIGINAL_VIRTUAL_PREFIXES } from "../network/virtual_names.ts";

/** Dependencies. */
export interface GetHostInterfacesDeps {
  /** netmon's view. */
  view: InterfaceView;
  /** The system's interfaces (`Deno.networkInterfaces`, needs `--allow-sys=networkInterfaces`). */
  system?: () => SystemAddress[];
}

/**
 * Name prefixes the original treats as virtual (reference §4.8): left out unless
 * `include_virtual`.
 */
export const VIRTUAL_PREFIXES: readonly string[] = [...ORIGINAL_VIRTUAL_PREFIXES, "sit", "can"];

/** Whether the original counts an interface name as virtual. Pure. */
export function isVirtual(name: string): boolean {
  return VIRTUAL_PREFIXES.some((p) => name.startsWith(p));
}

/** Handler. */
export const getHostInterfaces: Handler<"get_host_interfaces", GetHostInterfacesDeps> = (
  deps,
  msg,
) => {
  const netmon = deps.view.list();
  // The original answers from netmon's cache only; an empty cache means netmon has not
  // reported (or is not running), and the cloud shows this exact text.
  if (netmon.length === 0) {
    return Promise.resolve({ status: "error", error: ackMessages.interfaceCacheEmpty });
  }
  const system = (deps.system ?? (() => Deno.networkInterfaces()))();
  const list = hostInterfaces(netmon, system, msg);
  return Promise.resolve({
    status: "success",
    interfaces: msg.include_virtual ? list : list.filter((i) => !isVirtual(i.name)),
  });
};
