/**
 * Exact texts of the acks, as the original Python agent answers them
 * (`original-agent-reference.md` §4). The cloud and its users see these strings; handlers build
 * them from here so a reworded message is a contract change, caught by the golden tests
 * (`contracts/testdata/golden_acks.json`). Our own detail goes into other fields (`step`,
 * `progress`, `error`, `warnings`), never into these texts.
 *
 * @module
 */
import { ORCHESTRATOR_DEVICE_ID } from "./common.ts";

/**
 * `message` (and `error`) texts of `get_device_status` (reference §4.7).
 *
 * @example Shape an operation's message the way the original does
 * ```ts
 * import { statusMessages } from "@edge-orchestrator/contracts";
 * console.assert(statusMessages.notFound("plc1") === "Container plc1 does not exist");
 * console.assert(statusMessages.failed("pull refused") === "Operation failed: pull refused");
 * console.assert(statusMessages.forOperation("plc1", "delete") === "Container plc1 is being deleted");
 * ```
 */
export const statusMessages: {
  /** `status:"not_found"`: `Container <id> does not exist`. */
  readonly notFound: (id: string) => string;
  /** A create in progress: `Container <id> is being created`. */
  readonly creating: (id: string) => string;
  /** A delete (or self-destruct) in progress: `Container <id> is being deleted`. */
  readonly deleting: (id: string) => string;
  /** `status:"error"` of a failed operation: `Operation failed: <err>`. */
  readonly failed: (error: string) => string;
  /** The message of a tracked operation: `failed` when it has an error, else by its kind. */
  readonly forOperation: (
    id: string,
    operation: "create" | "delete",
    error?: string | null,
  ) => string;
  /** Status could not be read: `Failed to retrieve container status: <e>` (in `error`). */
  readonly retrieveFailed: (error: string) => string;
} = {
  notFound: (id) => `Container ${id} does not exist`,
  creating: (id) => `Container ${id} is being created`,
  deleting: (id) => `Container ${id} is being deleted`,
  failed: (error) => `Operation failed: ${error}`,
  forOperation: (id, operation, error) =>
    error
      ? `Operation failed: ${error}`
      : operation === "create"
      ? `Container ${id} is being created`
      : `Container ${id} is being deleted`,
  retrieveFailed: (error) => `Failed to retrieve container status: ${error}`,
};

/**
 * The `operation` value the original reports for the self-destruct (`__orchestrator__`):
 * it is tracked as a `delete` (reference §4.4, §4.7).
 *
 * @example
 * ```ts
 * import { ORCHESTRATOR_OPERATION } from "@edge-orchestrator/contracts";
 * console.assert(ORCHESTRATOR_OPERATION === "delete");
 * ```
 */
export const ORCHESTRATOR_OPERATION = "delete" as const;

/**
 * Texts of the other acks (reference §4.2-§4.8).
 *
 * @example
 * ```ts
 * import { ackMessages } from "@edge-orchestrator/contracts";
 * console.assert(ackMessages.deviceNotFound("plc9") === "Device plc9 not found");
 * console.assert(ackMessages.busy("plc1", "create") ===
 *   "Container plc1 already has a create operation in progress");
 * ```
 */
export const ackMessages: {
  /** `create_new_runtime` accepted: `Container creation started for <name>`. */
  readonly creationStarted: (name: string) => string;
  /** `delete_device` accepted: `Container deletion started for <id>`. */
  readonly deletionStarted: (id: string) => string;
  /** A second long operation on one device (in `error`). */
  readonly busy: (name: string, operation: "create" | "delete") => string;
  /** `delete_orchestrator` accepted (`message`). */
  readonly selfDestructStarted: string;
  /** `delete_orchestrator` while one runs (`error`, with `status:"error"`). */
  readonly selfDestructBusy: string;
  /** `get_consumption_device` of an unknown id (`error`): `Device <id> not found`. */
  readonly deviceNotFound: (id: string) => string;
  /** `run_command` of an unknown id (`error`): `Device not found: <id>`. */
  readonly runCommandDeviceNotFound: (id: string) => string;
  /** `get_host_interfaces` before netmon reported any interface (`error`). */
  readonly interfaceCacheEmpty: string;
} = {
  creationStarted: (name) => `Container creation started for ${name}`,
  deletionStarted: (id) => `Container deletion started for ${id}`,
  busy: (name, operation) => `Container ${name} already has a ${operation} operation in progress`,
  selfDestructStarted:
    `Self-destruct initiated. Poll get_device_status with device_id='${ORCHESTRATOR_DEVICE_ID}' for progress.`,
  selfDestructBusy: "Self-destruct operation already in progress",
  deviceNotFound: (id) => `Device ${id} not found`,
  runCommandDeviceNotFound: (id) => `Device not found: ${id}`,
  interfaceCacheEmpty:
    "Network interface cache is empty. The netmon sidecar may not be running or has not yet discovered interfaces.",
};
