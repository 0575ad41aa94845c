/**
 * Pure shaping of `get_device_status` answers (protocol.md §3) from an observed container.
 *
 * @module
 */
import type { ContainerInfo } from "../docker/port.ts";
import { statusMessages } from "../../contracts/mod.ts";
import { internalNetworkName } from "../docker/networks.ts";

/** `{status:"not_found", device_id, message}`. */
export function notFound(device: string): Record<string, unknown> {
  return { status: "not_found", device_id: device, message: statusMessages.notFound(device) };
}

/** The `success` shape of a present runtime. */
export function presentStatus(info: ContainerInfo, now: Date): Record<string, unknown> {
  const internal = internalNetworkName(info.name);
  const networks: Record<
    string,
    { ip_address: string | null; mac_address: string | null; gateway: string | null }
  > = {};
  for (const [name, e] of Object.entries(info.networks)) {
    if (name === internal) continue;
    networks[name] = {
      ip_address: e.ipv4 ?? null,
      mac_address: e.mac ?? null,
      gateway: e.gateway ?? null,
    };
  }
  const out: Record<string, unknown> = {
    status: "success",
    device_id: info.name,
    container_status: info.status,
    is_running: info.running,
    networks,
    restart_count: info.restartCount,
    internal_ip: info.networks[internal]?.ipv4 ?? null,
  };
  const started = Date.parse(info.startedAt);
  if (info.running && Number.isFinite(started) && started > 0) {
    out.uptime_seconds = Math.max(0, Math.floor((now.getTime() - started) / 1000));
  }
  if (!info.running) out.exit_code = info.exitCode;
  return out;
}
