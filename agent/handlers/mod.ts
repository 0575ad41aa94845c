/**
 * The handler table: every topic of the contracts' registry to one bound handler, checked by the
 * compiler (a topic added to the contracts without a handler here does not build). Handlers get
 * narrow ports: the command port, the read-only runtime view, and the few readers they need.
 *
 * @module
 */
import {
  type ConsumptionSeries,
  getConsumptionDevice,
  type RuntimeLimits,
} from "./get_consumption_device.ts";
import {
  type ConsumptionOrchestratorDeps,
  getConsumptionOrchestrator,
} from "./get_consumption_orchestrator.ts";
import { createNewRuntime } from "./create_new_runtime.ts";
import { deleteDevice } from "./delete_device.ts";
import { deleteOrchestrator } from "./delete_orchestrator.ts";
import { getDeviceStatus } from "./get_device_status.ts";
import { getHostInterfaces, type GetHostInterfacesDeps } from "./get_host_interfaces.ts";
import { getSerialDevices, type GetSerialDevicesDeps } from "./get_serial_devices.ts";
import type { CommandPort } from "./lifecycle_ack.ts";
import { restartDevice } from "./restart_device.ts";
import { runCommand, type RunCommandHandlerDeps } from "./run_command.ts";
import { startDevice } from "./start_device.ts";
import { stopDevice } from "./stop_device.ts";
import type { HandlerTable } from "./types.ts";

/** Everything the handlers need, as narrow ports. */
export interface HandlerDeps {
  /** What commands may do (edit the desired state). */
  commands: CommandPort;
  /** The read-only runtime view. */
  runtimes: {
    status(device: string): Promise<Record<string, unknown>>;
    endpoint(device: string): { ip: string | null; pin?: string } | null;
  };
  /** A runtime's limits (null when not one of ours). */
  limits(id: string): Promise<RuntimeLimits | null>;
  /** Consumption series of a runtime. */
  query(key: string, cpuPeriod: string, memoryPeriod: string): ConsumptionSeries;
  /** Host consumption, facts, clock. */
  host: ConsumptionOrchestratorDeps;
  /** Host interfaces (netmon's view). */
  interfaces: GetHostInterfacesDeps;
  /** Serial devices. */
  serial: GetSerialDevicesDeps;
  /** run_command: pinning, log, limits. */
  run: Omit<RunCommandHandlerDeps, "runtimes">;
}

/** Builds the complete table. */
export function buildHandlerTable(d: HandlerDeps): HandlerTable {
  return {
    create_new_runtime: (m) => createNewRuntime(d, m),
    delete_device: (m) => deleteDevice(d, m),
    delete_orchestrator: (m) => deleteOrchestrator(d, m),
    start_device: (m) => startDevice(d, m),
    stop_device: (m) => stopDevice(d, m),
    restart_device: (m) => restartDevice(d, m),
    run_command: (m) => runCommand({ ...d.run, runtimes: d.runtimes }, m),
    get_consumption_device: (m) => getConsumptionDevice({ limits: d.limits, query: d.query }, m),
    get_consumption_orchestrator: (m) => getConsumptionOrchestrator(d.host, m),
    get_device_status: (m) => getDeviceStatus(d, m),
    get_host_interfaces: (m) => getHostInterfaces(d.interfaces, m),
    get_serial_devices: (m) => getSerialDevices(d.serial, m),
  };
}
