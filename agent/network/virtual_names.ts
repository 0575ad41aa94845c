/**
 * Interface name prefixes the original agent treats as virtual (reference §4.6 and §4.8):
 * loopback, container bridges and veths, VPN and overlay links. `get_host_interfaces` adds the
 * tunnel and CAN prefixes to these (§4.8); the host addresses of `get_consumption_orchestrator`
 * leave out exactly these (§4.6).
 *
 * @module
 */

/** The prefixes both lists share. */
export const ORIGINAL_VIRTUAL_PREFIXES: readonly string[] = [
  "lo",
  "docker",
  "br-",
  "veth",
  "virbr",
  "tailscale",
  "zt",
  "cni",
  "flannel",
  "kube-ipvs",
  "wg",
  "cilium",
  "macvtap",
];
