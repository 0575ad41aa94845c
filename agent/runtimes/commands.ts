/**
 * The command port: what the cloud's commands may do. Each one validates, edits the persisted
 * desired state, and asks the reconciler for a pass; none touches Docker (the reconciler alone
 * does). Create and delete answer at once and go on in the background (the cloud polls
 * `get_device_status`); start, stop and restart wait for the pass that carries them out, so their
 * ack tells how it went.
 *
 * @module
 */
import {
  type CreateNewRuntime,
  ORCHESTRATOR_DEVICE_ID,
  statusMessages,
} from "../../contracts/mod.ts";
import type { ContainerInfo } from "../docker/port.ts";
import type { Logger } from "../log.ts";
import type { DesiredRuntime, DesiredState } from "./desired.ts";
import { imageTag } from "./desired.ts";
import type { InterfaceView } from "./interface_view.ts";
import { BusyError, type OpKind, RuntimeLocks } from "./locks.ts";
import { generateMac, type RandomBytes } from "./mac.ts";
import type { Operations } from "./operations.ts";
import { imageFor, PlanError, validateCreate } from "./validate_create.ts";
import type { Neighbour } from "../lan/guard.ts";

/** The cloud named a runtime this agent does not manage. */
export class NotFoundError extends Error {
  /** `Device not found: <id>` (protocol.md §3). */
  constructor(device: string) {
    super(`Device not found: ${device}`);
    this.name = "NotFoundError";
  }
}

/** The agent has not read its state yet (state directory not readable): nothing is changed. */
export class StartingUpError extends Error {
  /** Builds the error. */
  constructor() {
    super(
      "The agent is starting up: its runtime state is not loaded yet; nothing was changed, try again shortly",
    );
    this.name = "StartingUpError";
  }
}

/** What the commands need. */
export interface CommandDeps {
  /** The desired state. */
  desired: DesiredState;
  /** Operation status. */
  ops: Operations;
  /** Host interfaces (netmon's view) for validation. */
  view: InterfaceView;
  /** The reconciler. */
  reconciler: {
    trigger(reason: string): Promise<void>;
    failure(runtime: string): string | undefined;
  };
  /** Reads a runtime's container (read-only; the ack of start/stop/restart). */
  inspect(name: string): Promise<ContainerInfo | null>;
  /** `--runtime-image`. */
  runtimeImage: string;
  /** Restart requests (read by the planner). */
  restarts: Set<string>;
  /** The crash-loop guard (a create, delete or start clears it). */
  guard: { clear(runtime: string): void };
  /** Logger. */
  log: Logger;
  /** Randomness for MACs. */
  random: RandomBytes;
  /** `--allowed-parents` (null: any interface). */
  allowedParents?: readonly string[] | null;
  /** The host's neighbour table (the gateway's MAC for the guard rails). */
  neighbours?: () => Promise<Neighbour[]>;
}

/** Creates and deletes in flight at once: each holds a lane of the executor (8 run side by side)
 * and its pull; 32 queued is far above what a cloud sends at once and bounds the work a burst of
 * commands can pile up. Beyond it a command gets a clear busy error. */
export const MAX_OPERATIONS = 32;

/** The command port. */
export class RuntimeCommands {
  #d: CommandDeps;
  #locks = new RuntimeLocks();

  /** Builds the port. */
  constructor(deps: CommandDeps) {
    this.#d = deps;
  }

  #capacity(): void {
    const n = this.#d.ops.active().length;
    if (n >= MAX_OPERATIONS) {
      throw new Error(
        `Too many operations in progress (${n}): nothing was changed, try again later`,
      );
    }
  }

  #busy(name: string): void {
    const op = this.#d.ops.get(name);
    if (op && op.status !== "error") {
      throw new BusyError(name, op.operation === "create" ? "create" : "delete");
    }
    const holder = this.#locks.holder(name);
    if (holder) throw new BusyError(name, holder);
  }

  #loaded(): void {
    if (!this.#d.desired.loaded) throw new StartingUpError();
  }

  /** Records a create; the reconciler makes it. Throws `BusyError` / `StartingUpError`. */
  async create(msg: CreateNewRuntime): Promise<void> {
    const d = this.#d;
    const name = msg.container_name;
    this.#loaded();
    this.#busy(name);
    this.#capacity();
    d.ops.begin(name, "create", "validating_config", statusMessages.creating(name));
    const existing = d.desired.get(name);
    if (existing) {
      d.ops.fail(
        name,
        `Cannot create runtime "${name}": a container with that name already exists`,
      );
      return;
    }
    let rt: DesiredRuntime;
    try {
      const { [name]: _, ...stored } = d.desired.allVnics();
      rt = validateCreate(msg, {
        image: imageFor(d.runtimeImage, msg.runtime_version),
        version: msg.runtime_version ?? imageTag(d.runtimeImage),
        stored,
        view: d.view,
        newMac: (used) => generateMac(d.random, used),
        allowedParents: d.allowedParents ?? null,
        neighbours: await (d.neighbours?.() ?? Promise.resolve([])).catch(() => []),
      });
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      d.log.error("Failed to create runtime container", { runtime: name, error: err.message });
      d.ops.fail(name, err.message);
      return;
    }
    d.guard.clear(name);
    try {
      await d.desired.put(rt);
    } catch (err) {
      d.ops.fail(name, `Cannot record the runtime: ${(err as Error).message}`);
      return;
    }
    void d.reconciler.trigger(`create ${name}`);
  }

  /** Records a delete (a tombstone); the reconciler removes it. An unknown name changes nothing
   * (the status then says not found). Throws `BusyError` / `StartingUpError`. */
  async delete(name: string): Promise<void> {
    const d = this.#d;
    this.#loaded();
    this.#busy(name);
    const rt = d.desired.get(name);
    if (!rt || rt.phase === "deleting") return;
    this.#capacity();
    d.ops.begin(name, "delete", "stopping_container", statusMessages.deleting(name));
    d.guard.clear(name);
    await d.desired.patch(name, { phase: "deleting" });
    void d.reconciler.trigger(`delete ${name}`);
  }

  /** Starts a runtime (idempotent); remembers that it should run. */
  start(name: string): Promise<ContainerInfo> {
    return this.#lifecycle(name, "start", true);
  }

  /** Stops a runtime (idempotent); remembers that it should stay stopped. */
  stop(name: string): Promise<ContainerInfo> {
    return this.#lifecycle(name, "stop", false);
  }

  /** Restarts a runtime; remembers that it should run. */
  restart(name: string): Promise<ContainerInfo> {
    return this.#lifecycle(name, "restart", true);
  }

  /** Orders the self-destruct; false when one already runs. */
  async selfDestruct(): Promise<boolean> {
    const d = this.#d;
    this.#loaded();
    const cur = d.ops.get(ORCHESTRATOR_DEVICE_ID);
    if (cur && cur.status !== "error") return false;
    d.ops.begin(
      ORCHESTRATOR_DEVICE_ID,
      "delete",
      "deleting_runtimes",
      statusMessages.deleting(ORCHESTRATOR_DEVICE_ID),
    );
    await d.desired.orderSelfDestruct();
    void d.reconciler.trigger("delete_orchestrator");
    return true;
  }

  /** Pins (or forgets, with undefined) a runtime's API certificate fingerprint. */
  pin(name: string, fingerprint: string | undefined): Promise<void> {
    return this.#d.desired.pin(name, fingerprint);
  }

  async #lifecycle(name: string, kind: OpKind, running: boolean): Promise<ContainerInfo> {
    const d = this.#d;
    this.#loaded();
    const rt = d.desired.get(name);
    if (!rt || rt.phase === "deleting") throw new NotFoundError(name);
    this.#busy(name);
    const release = this.#locks.acquire(name, kind);
    try {
      // Persist the intent first: a crash after the Docker call must not forget it.
      if (rt.running !== running) await d.desired.patch(name, { running });
      if (running) d.guard.clear(name);
      if (kind === "restart") d.restarts.add(name);
      await d.reconciler.trigger(`${kind} ${name}`);
      const failure = d.reconciler.failure(name);
      const info = await d.inspect(name);
      if (!info) throw new NotFoundError(name);
      if (failure && info.running !== running) throw new Error(failure);
      return info;
    } finally {
      d.restarts.delete(name);
      release();
    }
  }
}
