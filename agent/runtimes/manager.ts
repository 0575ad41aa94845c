/**
 * The runtime manager: the one object handlers talk to. Creates and deletes runtimes in the
 * background under a per-runtime lock, starts/stops/restarts them with the intent persisted, and
 * answers status. Everything it touches arrives injected (Docker port, logger, clock, state
 * directory, interface view, consumption sink).
 *
 * @module
 */
import { type CreateNewRuntime, ORCHESTRATOR_DEVICE_ID } from "../../contracts/mod.ts";
import type { ContainerInfo, DockerPort } from "../docker/port.ts";
import type { Logger } from "../log.ts";
import {
  type ConsumptionSink,
  type Core,
  DEFAULT_RUNTIME_IMAGE,
  type ManagerConfig,
} from "./core.ts";
import { runCreate } from "./create_op.ts";
import { runDelete } from "./delete_op.ts";
import type { InterfaceView } from "./interface_view.ts";
import { KeyedMutex, type OpKind, RuntimeLocks } from "./locks.ts";
import { cryptoRandom, type RandomBytes } from "./mac.ts";
import { isManaged } from "./naming.ts";
import { Operations } from "./operations.ts";
import { rebuildFromDocker } from "./rebuild.ts";
import { Registry } from "./registry.ts";
import { applyRestartPolicy } from "./restart_policy.ts";
import { notFound, presentStatus } from "./status.ts";
import { VnicStore } from "./vnic_store.ts";

/** The cloud asked about a runtime the agent does not manage. */
export class NotFoundError extends Error {
  /** `Device not found: <id>` (protocol.md §3). */
  constructor(device: string) {
    super(`Device not found: ${device}`);
    this.name = "NotFoundError";
  }
}

/** Dependencies of the manager. */
export interface ManagerDeps {
  /** Docker port. */
  docker: DockerPort;
  /** Logger. */
  log: Logger;
  /** State directory (`runtime_vnics.json`, `runtimes.json`). */
  stateDir: string;
  /** Host interfaces (netmon's view). */
  view: InterfaceView;
  /** Consumption buffers (forgotten on delete). */
  sink?: ConsumptionSink;
  /** Config; defaults: the real image, no extra labels, 10 s stop timeout, on the host. */
  config?: Partial<ManagerConfig>;
  /** Clock. */
  now?: () => Date;
  /** Randomness for MACs. */
  random?: RandomBytes;
}

/** Runtime manager. Call {@linkcode RuntimeManager.init} once before use. */
export class RuntimeManager {
  /** Shared state of the operations (exposed for the sampler and self-destruct). */
  readonly core: Core;
  #background = new Set<Promise<void>>();
  #settled: ((name: string) => void)[] = [];
  #stateDir: string;

  /** Builds a manager; no I/O until `init`. */
  constructor(deps: ManagerDeps) {
    const log = deps.log;
    this.#stateDir = deps.stateDir;
    this.core = {
      docker: deps.docker,
      log,
      view: deps.view,
      config: {
        runtimeImage: DEFAULT_RUNTIME_IMAGE,
        extraLabels: {},
        // Docker's own default grace period; the runtime flushes its state well within it.
        stopTimeoutS: 10,
        selfContainer: null,
        ...deps.config,
      },
      vnics: new VnicStore(deps.stateDir, log),
      registry: new Registry(deps.stateDir, log),
      ops: new Operations(deps.now),
      locks: new RuntimeLocks(),
      parents: new KeyedMutex(),
      pending: new Map(),
      sink: deps.sink ?? { record() {}, forget() {} },
      now: deps.now ?? (() => new Date()),
      random: deps.random ?? cryptoRandom,
      warnings: new Map(),
    };
  }

  /** Loads the state files, rebuilds what they lack from Docker labels, re-applies stop intents. */
  async init(): Promise<void> {
    await Deno.mkdir(this.#stateDir, { recursive: true });
    await this.core.vnics.load();
    await this.core.registry.load();
    await rebuildFromDocker(this.core);
  }

  /** Starts a create in the background; throws `BusyError` when the runtime is busy. */
  create(msg: CreateNewRuntime): void {
    const name = msg.container_name;
    const release = this.core.locks.acquire(name, "create");
    this.core.ops.begin(name, "create", "validating_config", `Creating container ${name}`);
    this.#track(name, runCreate(this.core, msg).finally(release));
  }

  /** Starts a delete in the background; throws `BusyError` when the runtime is busy. */
  delete(name: string): void {
    const release = this.core.locks.acquire(name, "delete");
    this.core.ops.begin(name, "delete", "stopping_container", `Deleting container ${name}`);
    this.#track(name, runDelete(this.core, name).finally(release));
  }

  /** Starts a runtime (idempotent); remembers that it should run. */
  start(name: string): Promise<ContainerInfo> {
    return this.#lifecycle(name, "start", "running", () => this.core.docker.startContainer(name));
  }

  /** Stops a runtime (idempotent); remembers that it should stay stopped. */
  stop(name: string): Promise<ContainerInfo> {
    return this.#lifecycle(
      name,
      "stop",
      "stopped",
      () => this.core.docker.stopContainer(name, this.core.config.stopTimeoutS),
    );
  }

  /** Restarts a runtime; remembers that it should run. */
  restart(name: string): Promise<ContainerInfo> {
    return this.#lifecycle(
      name,
      "restart",
      "running",
      () => this.core.docker.restartContainer(name, this.core.config.stopTimeoutS),
    );
  }

  /** `get_device_status` body for a runtime (not `__orchestrator__`). */
  async status(device: string): Promise<Record<string, unknown>> {
    const op = this.core.ops.get(device);
    if (op && op.status !== "error") return { ...op };
    const info = device === ORCHESTRATOR_DEVICE_ID ? null : await this.#managed(device);
    if (op) {
      // An error clears once the device is healthy again.
      if (!info?.running) return { ...op };
      this.core.ops.clear(device);
    }
    if (!info) return notFound(device);
    const warnings = this.core.warnings.get(device);
    return { ...presentStatus(info, this.core.now()), ...(warnings ? { warnings } : {}) };
  }

  /** The internal IP of a registered runtime (null when unknown). */
  internalIp(name: string): string | null {
    return this.core.registry.get(name)?.internal_ip ?? null;
  }

  /** Names of registered runtimes. */
  names(): string[] {
    return this.core.registry.names();
  }

  /** Waits for every background operation started so far (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.#background.size) await Promise.all([...this.#background]);
  }

  /** Calls `listener` with the runtime's name after each background create or delete ends. */
  onSettled(listener: (name: string) => void): void {
    this.#settled.push(listener);
  }

  #track(name: string, p: Promise<void>): void {
    this.#background.add(p);
    p.finally(() => {
      this.#background.delete(p);
      for (const l of this.#settled) l(name);
    });
  }

  async #managed(name: string): Promise<ContainerInfo | null> {
    const info = await this.core.docker.inspectContainer(name);
    return info && isManaged(info.labels) ? info : null;
  }

  async #lifecycle(
    name: string,
    kind: OpKind,
    desired: "running" | "stopped",
    act: () => Promise<void>,
  ): Promise<ContainerInfo> {
    const release = this.core.locks.acquire(name, kind);
    try {
      if (!this.core.registry.get(name) || !(await this.#managed(name))) {
        throw new NotFoundError(name);
      }
      // Persist the intent first: a crash after the Docker call must not forget it.
      await this.core.registry.update(name, { desired });
      await applyRestartPolicy(this.core.docker, name, desired);
      await act();
      const info = await this.#managed(name);
      if (!info) throw new NotFoundError(name);
      if (info.running) {
        const ip = info.networks[`${name}_internal`]?.ipv4;
        if (ip && ip !== this.internalIp(name)) {
          await this.core.registry.update(name, { internal_ip: ip });
        }
      }
      return info;
    } finally {
      release();
    }
  }
}
