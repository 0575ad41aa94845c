/**
 * Messages and acks of every cloud topic the agent handles (protocol.md §3), and the topic
 * registry that the agent's dispatcher and cloud-side consumers share.
 *
 * @module
 */
import { z } from "zod";
import { type CommonFields, ErrorAck, ORCHESTRATOR_DEVICE_ID } from "./common.ts";
import { commonShape, RUNTIME_NAME_RE, runtimeName } from "./_internal.ts";
import { Period } from "./period.ts";
import { type VnicConfig, VnicList } from "./vnic.ts";

/** Common fields plus the runtime the message is about. */
export interface DeviceMessage extends CommonFields {
  /** Runtime (container) name. */
  device_id: string;
}

/** `create_new_runtime`. */
export interface CreateNewRuntime extends CommonFields {
  /** Name of the new runtime container. */
  container_name: string;
  /** vNICs in canonical form (may be empty). */
  vnic_configs: VnicConfig[];
  /** Image tag; `latest` when absent. */
  runtime_version: string;
}

/** `run_command`: an HTTP request proxied to the runtime's API. */
export interface RunCommand extends DeviceMessage {
  /** HTTP method, upper case. */
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path on the runtime, starting with one `/`. */
  api: string;
  /** Runtime port; 8443 by default, others only from the agent's allow-list. */
  port: number;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Query parameters. */
  params?: Record<string, string | number | boolean>;
  /** JSON body, or form fields when a non-JSON Content-Type is given. */
  data?: unknown;
  /** Multipart files. */
  files?: Record<string, { filename: string; content_base64: string; content_type?: string }>;
}

/** `get_consumption_device`. */
export interface GetConsumptionDevice extends DeviceMessage {
  /** Period of the CPU series. */
  cpuPeriod: string;
  /** Period of the memory series. */
  memoryPeriod: string;
}

/** `get_consumption_orchestrator`. */
export interface GetConsumptionOrchestrator extends CommonFields {
  /** Period of the CPU series. */
  cpuPeriod: string;
  /** Period of the memory series. */
  memoryPeriod: string;
}

/** `get_device_status`: `device_id` may be `__orchestrator__`. */
export type GetDeviceStatus = DeviceMessage;

/** `get_host_interfaces`. */
export interface GetHostInterfaces extends CommonFields {
  /** List docker/veth/bridge interfaces too. */
  include_virtual: boolean;
  /** Include subnet and gateway. */
  detailed: boolean;
}

const deviceId = runtimeName;
const deviceShape = { ...commonShape, device_id: deviceId };

const method = z.enum(["GET", "POST", "PUT", "DELETE", "get", "post", "put", "delete"])
  .transform((m) => m.toUpperCase() as RunCommand["method"]);
/** A path on the runtime. `//host` and backslashes would let a URL escape the runtime's origin. */
const apiPath = z.string().max(2048).regex(
  /^\/(?![/\\])[^\s\\#]*$/,
  'must be a path on the runtime starting with a single "/", without spaces, "\\" or "#"',
).refine((p) => !p.split(/[/?]/).includes(".."), 'must not contain ".." segments');

/** Schema of `create_new_runtime`. @internal */
const createNewRuntime = z.object({
  ...commonShape,
  container_name: runtimeName,
  vnic_configs: VnicList,
  runtime_version: z.string().regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    "must be a Docker image tag",
  )
    .default("latest"),
});

const runCommand = z.object({
  ...deviceShape,
  method,
  api: apiPath,
  port: z.number().int().min(1).max(65535).default(8443),
  headers: z.record(z.string(), z.string()).optional(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  data: z.unknown().optional(),
  files: z.record(
    z.string(),
    z.object({
      filename: z.string().min(1).max(255),
      content_base64: z.base64(),
      content_type: z.string().optional(),
    }),
  ).optional(),
});

const consumptionShape = { cpuPeriod: Period, memoryPeriod: Period };

/** Ack schemas are open (`looseObject`): the agent may add fields, never drop one. */
const ackBase = {
  action: z.string(),
  correlation_id: z.number().nullable(),
};

const series = {
  cpu_usage: z.array(z.object({ timestamp: z.number(), cpu: z.number() })),
  memory_usage: z.array(z.object({ timestamp: z.number(), memory: z.number() })),
};

/** Fields every ack carries. */
export interface AckBase {
  /** Topic answered. */
  action: string;
  /** Echo of the request's correlation id, or null. */
  correlation_id: number | null;
  /** Anything else the topic answers. */
  [key: string]: unknown;
}

/** Every topic name the agent handles. */
export type TopicName =
  | "create_new_runtime"
  | "delete_device"
  | "delete_orchestrator"
  | "start_device"
  | "stop_device"
  | "restart_device"
  | "run_command"
  | "get_consumption_device"
  | "get_consumption_orchestrator"
  | "get_device_status"
  | "get_host_interfaces";

/** Request type per topic. */
export interface TopicMessages {
  /** Create a runtime. */
  create_new_runtime: CreateNewRuntime;
  /** Delete a runtime. */
  delete_device: DeviceMessage;
  /** Self-destruct. */
  delete_orchestrator: CommonFields;
  /** Start a runtime. */
  start_device: DeviceMessage;
  /** Stop a runtime (remembered). */
  stop_device: DeviceMessage;
  /** Restart a runtime. */
  restart_device: DeviceMessage;
  /** Proxy an HTTP request to a runtime. */
  run_command: RunCommand;
  /** Runtime consumption. */
  get_consumption_device: GetConsumptionDevice;
  /** Host consumption. */
  get_consumption_orchestrator: GetConsumptionOrchestrator;
  /** Operation or container status. */
  get_device_status: GetDeviceStatus;
  /** Host interfaces. */
  get_host_interfaces: GetHostInterfaces;
}

/** One registry entry: the request schema (input: anything) and the ack schema. */
export interface TopicSpec<T> {
  /** Validates and normalises a request. */
  request: z.ZodType<T, unknown>;
  /** Validates an ack (success shapes and the error ack). */
  ack: z.ZodType<AckBase>;
  /** Whether the topic carries `device_id`. */
  device: boolean;
  /** Long operations ack at once and go on in the background. */
  long: boolean;
}

function ack(shape: z.ZodRawShape): z.ZodType<AckBase> {
  // The error ack is a closed shape without an index signature; as a member of the union it is
  // still an AckBase on the wire.
  return z.union([z.looseObject({ ...ackBase, ...shape }), ErrorAck]) as unknown as z.ZodType<
    AckBase
  >;
}

const containerStatus = z.string();

/**
 * The topic registry: one table, topic name to request and ack schemas.
 *
 * @example Validate a request through the registry
 * ```ts
 * import { TOPICS } from "@edge-orchestrator/contracts";
 * const r = TOPICS.stop_device.request.safeParse({ device_id: "plc1", correlation_id: 3 });
 * console.assert(r.success);
 * ```
 */
export const TOPICS: { [K in TopicName]: TopicSpec<TopicMessages[K]> } = {
  create_new_runtime: {
    request: createNewRuntime,
    ack: ack({ status: z.literal("creating"), container_id: z.string(), message: z.string() }),
    device: false,
    long: true,
  },
  delete_device: {
    request: z.object(deviceShape),
    ack: ack({ status: z.literal("deleting"), device_id: z.string(), message: z.string() }),
    device: true,
    long: true,
  },
  delete_orchestrator: {
    request: z.object(commonShape),
    ack: ack({
      status: z.literal("accepted"),
      message: z.string(),
      poll_device_id: z.literal(ORCHESTRATOR_DEVICE_ID),
    }),
    device: false,
    long: true,
  },
  start_device: {
    request: z.object(deviceShape),
    ack: ack({
      status: z.literal("success"),
      device_id: z.string(),
      success: z.literal(true),
      container_status: containerStatus,
    }),
    device: true,
    long: false,
  },
  stop_device: {
    request: z.object(deviceShape),
    ack: ack({
      status: z.literal("success"),
      device_id: z.string(),
      success: z.literal(true),
      container_status: containerStatus,
    }),
    device: true,
    long: false,
  },
  restart_device: {
    request: z.object(deviceShape),
    ack: ack({
      status: z.literal("success"),
      device_id: z.string(),
      success: z.literal(true),
      container_status: containerStatus,
    }),
    device: true,
    long: false,
  },
  run_command: {
    request: runCommand,
    ack: ack({
      status: z.enum(["success", "error"]),
      http_response: z.object({
        status_code: z.number().int(),
        headers: z.record(z.string(), z.string()),
        ok: z.boolean(),
        body: z.unknown(),
        content_type: z.string().nullable(),
      }),
    }),
    device: true,
    long: false,
  },
  get_consumption_device: {
    request: z.object({ ...deviceShape, ...consumptionShape }),
    ack: ack({
      device_id: z.string(),
      memory: z.string(),
      cpu: z.string(),
      ...series,
    }),
    device: true,
    long: false,
  },
  get_consumption_orchestrator: {
    request: z.object({ ...commonShape, ...consumptionShape }),
    ack: ack({
      ip_addresses: z.array(z.object({ interface: z.string(), ip_address: z.string() })),
      memory: z.number(),
      cpu: z.number(),
      os: z.string(),
      kernel: z.string(),
      disk: z.number(),
      ...series,
    }),
    device: false,
    long: false,
  },
  get_device_status: {
    request: z.object({
      ...commonShape,
      device_id: z.string().min(1, "must not be empty").refine(
        (id) => id === ORCHESTRATOR_DEVICE_ID || RUNTIME_NAME_RE.test(id),
        `must be a runtime name or "${ORCHESTRATOR_DEVICE_ID}"`,
      ),
    }),
    ack: ack({
      status: z.enum(["creating", "deleting", "error", "not_found", "success", "accepted"]),
      device_id: z.string(),
    }),
    device: true,
    long: false,
  },
  get_host_interfaces: {
    request: z.object({
      ...commonShape,
      include_virtual: z.boolean().default(false),
      detailed: z.boolean().default(true),
    }),
    ack: ack({
      status: z.literal("success"),
      interfaces: z.array(z.looseObject({
        name: z.string(),
        ip_address: z.string().nullable(),
        ipv4_addresses: z.array(z.string()),
        mac_address: z.string().nullable(),
        subnet: z.string().nullable().optional(),
        gateway: z.string().nullable().optional(),
      })),
    }),
    device: false,
    long: false,
  },
};

/**
 * Every topic name, in registry order.
 *
 * @example
 * ```ts
 * import { TOPIC_NAMES } from "@edge-orchestrator/contracts";
 * console.assert(TOPIC_NAMES.includes("run_command"));
 * ```
 */
export const TOPIC_NAMES: readonly TopicName[] = Object.keys(TOPICS) as TopicName[];

/**
 * Whether a string names a topic of the registry.
 *
 * @example
 * ```ts
 * import { isTopicName } from "@edge-orchestrator/contracts";
 * console.assert(isTopicName("stop_device") && !isTopicName("reboot"));
 * ```
 */
export function isTopicName(name: string): name is TopicName {
  return Object.hasOwn(TOPICS, name);
}
