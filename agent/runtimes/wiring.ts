/**
 * Builds the runtime side of the agent for the composition root: the dockerode port, the
 * manager (state loaded and reconciled with Docker labels), the 5 s consumption sampler, and the
 * bound handlers of every Docker topic, ready to pass as `buildHandlerTable` overrides.
 *
 * @module
 */
import { parsePeriod } from "../../contracts/mod.ts";
import { dockerodePort } from "../docker/dockerode_adapter.ts";
import { createNewRuntime } from "../handlers/create_new_runtime.ts";
import { deleteDevice } from "../handlers/delete_device.ts";
import { deleteOrchestrator } from "../handlers/delete_orchestrator.ts";
import { getConsumptionDevice } from "../handlers/get_consumption_device.ts";
import { getDeviceStatus } from "../handlers/get_device_status.ts";
import { getHostInterfaces } from "../handlers/get_host_interfaces.ts";
import { restartDevice } from "../handlers/restart_device.ts";
import { runCommand } from "../handlers/run_command.ts";
import { startDevice } from "../handlers/start_device.ts";
import { stopDevice } from "../handlers/stop_device.ts";
import type { HandlerTable } from "../handlers/types.ts";
import type { Logger } from "../log.ts";
import type { ConsumptionSink } from "./core.ts";
import type { InterfaceView } from "./interface_view.ts";
import { RuntimeManager } from "./manager.ts";
import { agentScope } from "./naming.ts";
import { detectSelfContainer } from "./self_container.ts";
import { ConsumptionSampler } from "./stats.ts";

/** What the composition root hands in. */
export interface RuntimeWiringOptions {
  /** `--docker-socket`. */
  dockerSocket: string;
  /** `--state-dir`. */
  stateDir: string;
  /** `--runtime-image`. */
  runtimeImage: string;
  /** Logger. */
  log: Logger;
  /** Consumption buffers (record/forget/query). */
  consumption: ConsumptionSink & {
    query(key: string, range: { start: number; end: number }): {
      timestamp: number;
      cpu: number;
      memory: number;
    }[];
  };
  /** netmon's interface cache. */
  view: InterfaceView;
  /** Ends the process after a self-destruct on the host. */
  exit: (code: number) => void;
  /** The agent's id (certificate CN): its objects carry it, others' are left alone. */
  agentId?: string;
}

/** The wired runtime side. */
export interface RuntimeWiring {
  /** Handler overrides for `buildHandlerTable`. */
  handlers: Partial<HandlerTable>;
  /** The manager. */
  runtimes: RuntimeManager;
  /** Stops the sampler and waits for background operations. */
  stop(): Promise<void>;
}

/** Builds and starts the runtime side. Docker being down is logged, not fatal. */
export async function wireRuntimes(o: RuntimeWiringOptions): Promise<RuntimeWiring> {
  const docker = dockerodePort(o.dockerSocket);
  const selfContainer = await detectSelfContainer(docker).catch(() => null);
  const runtimes = new RuntimeManager({
    docker,
    log: o.log,
    stateDir: o.stateDir,
    view: o.view,
    sink: o.consumption,
    config: {
      runtimeImage: o.runtimeImage,
      selfContainer,
      extraLabels: o.agentId ? agentScope(o.agentId) : {},
    },
  });
  await runtimes.init().catch((e) =>
    o.log.error("Cannot reconcile runtimes with Docker at startup", { error: String(e) })
  );
  const abort = new AbortController();
  const sampling = new ConsumptionSampler(
    docker,
    o.consumption,
    o.log,
    runtimes.core.config.extraLabels,
  ).run(abort.signal);
  const query = (key: string, cpuPeriod: string, memoryPeriod: string) => {
    const now = Math.floor(Date.now() / 1000);
    const range = (p: string) => parsePeriod(p, now) ?? { start: now - 3600, end: now };
    return {
      cpu_usage: o.consumption.query(key, range(cpuPeriod)).map((s) => ({
        timestamp: s.timestamp,
        cpu: s.cpu,
      })),
      memory_usage: o.consumption.query(key, range(memoryPeriod)).map((s) => ({
        timestamp: s.timestamp,
        memory: s.memory,
      })),
    };
  };
  const deps = { runtimes };
  const handlers: Partial<HandlerTable> = {
    create_new_runtime: (m) => createNewRuntime(deps, m),
    delete_device: (m) => deleteDevice(deps, m),
    delete_orchestrator: (m) => deleteOrchestrator({ runtimes, exit: o.exit }, m),
    start_device: (m) => startDevice(deps, m),
    stop_device: (m) => stopDevice(deps, m),
    restart_device: (m) => restartDevice(deps, m),
    run_command: (m) => runCommand(deps, m),
    get_device_status: (m) => getDeviceStatus(deps, m),
    get_host_interfaces: (m) => getHostInterfaces({ view: o.view }, m),
    get_consumption_device: (m) => getConsumptionDevice({ runtimes, query }, m),
  };
  return {
    handlers,
    runtimes,
    async stop() {
      abort.abort();
      await sampling;
      await runtimes.settle();
    },
  };
}
