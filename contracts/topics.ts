/**
 * Messages and acks of every cloud topic the agent handles (protocol.md §3), and the topic
 * registry that the agent's dispatcher and cloud-side consumers share.
 *
 * @module
 */
import { z } from "zod";
import { type CommonFields, ORCHESTRATOR_DEVICE_ID } from "./common.ts";
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
  /** Image tag; when absent the agent's configured image is used as given (its own tag, or
   * `latest`). */
  runtime_version?: string;
}

/** `run_command`: an HTTP request proxied to the runtime's API. */
export interface RunCommand extends DeviceMessage {
  /**
   * HTTP method. `GET`, `POST`, `PUT` and `DELETE` (exactly, as the original) are sent; any other
   * string is answered with the original's 400 `Unsupported HTTP method`.
   */
  method: string;
  /**
   * Path on the runtime; leading `/` optional (the original sends `/{api.lstrip('/')}`).
   * `"debug"` names the original's debug bridge, answered "not supported".
   */
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

/** `get_serial_devices`: the common fields only. */
export type GetSerialDevices = CommonFields;

const deviceId = runtimeName;
const deviceShape = { ...commonShape, device_id: deviceId };

/** Any method name is read; the handler answers the ones the original refuses (reference §4.5). */
const method = z.string().min(1).max(32);
/**
 * A path on the runtime, its leading slashes optional (folded to one by the agent, so `//host`
 * cannot name another origin). No spaces, controls, `\\`, `#` or `..` segments.
 */
const apiPath = z.string().max(2048).regex(
  // deno-lint-ignore no-control-regex -- control characters are what is refused
  /^[^\s\x00-\x1f\x7f\\#]*$/,
  'must be a path on the runtime, without spaces, control characters, "\\" or "#"',
).refine((p) => !p.split(/[/?]/).includes(".."), 'must not contain ".." segments');
/** RFC 7230 §3.2.6: a header name is a token. */
const headerName = z.string().regex(
  /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/,
  "header name must be an RFC 7230 token (letters, digits and !#$%&'*+-.^_`|~)",
);
/** A header value: HTAB, printable ASCII and U+0080-U+00FF; never CR, LF or other controls. */
const headerValue = z.string().max(8192).regex(
  /^[\t\x20-\x7e\x80-\xff]*$/,
  "header value must be printable (no CR, LF or control characters, nothing above U+00FF)",
);

/** Schema of `create_new_runtime`. @internal */
const createNewRuntime = z.object({
  ...commonShape,
  container_name: runtimeName,
  vnic_configs: VnicList,
  runtime_version: z.string().regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    "must be a Docker image tag",
  )
    .optional(),
});

const runCommand = z.object({
  ...deviceShape,
  method,
  api: apiPath,
  port: z.number().int().min(1).max(65535).default(8443),
  headers: z.record(headerName, headerValue).optional(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  data: z.unknown().optional(),
  files: z.record(
    z.string(),
    z.object({
      filename: z.string().max(255),
      content_base64: z.base64(),
      content_type: z.string().max(255).optional(),
    }),
  ).optional(),
});

const consumptionShape = { cpuPeriod: Period, memoryPeriod: Period };

/**
 * Ack schemas are strict: every key the original agent answers is required with its type, and
 * an unknown key is refused, so a drifting handler fails the golden tests. The only extras are
 * those protocol.md §9 item 6 allows ({@linkcode ackExtras}) and those §3 lists per topic.
 */
const ackBase = {
  action: z.string(),
  correlation_id: z.number().nullable(),
};

/** A problem reconciliation could not fix (agent/reconcile/problems.ts). */
const networkProblem = z.strictObject({
  vnic: z.string().nullable(),
  code: z.string(),
  message: z.string(),
});

/** Extra fields any ack may carry (protocol.md §9 item 6). */
const ackExtras = {
  progress: z.number().min(0).max(100).optional(),
  warnings: z.array(z.string()).optional(),
  network_problems: z.array(networkProblem).optional(),
  agent_version: z.string().optional(),
};

/** Series points are integers, as the original's `int()` leaves them (reference §5.2). */
const series = {
  cpu_usage: z.array(z.strictObject({ timestamp: z.number().int(), cpu: z.number().int() })),
  memory_usage: z.array(
    z.strictObject({ timestamp: z.number().int(), memory: z.number().int() }),
  ),
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
  | "get_host_interfaces"
  | "get_serial_devices";

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
  /** Serial devices of the host. */
  get_serial_devices: GetSerialDevices;
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

/**
 * An error ack, closed: `{action, correlation_id, status:"error", error, errors?}`; `device_id`
 * may come along (the original's `get_device_status` failure carries it, reference §4.7).
 */
const strictErrorAck = z.strictObject({
  ...ackBase,
  status: z.literal("error"),
  error: z.string(),
  errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  device_id: z.string().optional(),
});

/** One success shape (or several) of a topic, closed, plus the error ack. */
function ack(...shapes: z.ZodRawShape[]): z.ZodType<AckBase> {
  const success = shapes.map((shape) => z.strictObject({ ...ackBase, ...shape, ...ackExtras }));
  // The error ack is a closed shape without an index signature; as a member of the union it is
  // still an AckBase on the wire.
  return z.union([...success, strictErrorAck]) as unknown as z.ZodType<AckBase>;
}

/** Docker's `State.Status`. */
const containerStatus = z.enum([
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "dead",
]);

const isoTime = z.iso.datetime({ offset: true });

/** `start_device`, `stop_device`, `restart_device` (ours, protocol.md §3 and §9 item 3). */
const lifecycleAck = ack({
  status: z.literal("success"),
  device_id: z.string(),
  success: z.literal(true),
  container_status: containerStatus,
});

/**
 * Steps of a tracked operation: protocol.md §3 and the original's (reference §4.2, §4.4, §4.7).
 */
const operationStep = z.enum([
  "validating_config",
  "pulling_image",
  "creating_networks",
  "creating_container",
  "starting_container",
  "stopping_container",
  "removing_networks",
  "starting_dhcp",
  "configuring_wifi_vnics",
  "starting",
  "returning_dedicated_nics",
  "deleting_runtimes",
  "cleaning_networks",
  "cleaning_proxy_arp",
  "deleting_netmon",
  "deleting_volume",
  "removing_self",
]);

/** DHCP lease states reported in `networks[<net>].dhcp` of `get_device_status`. */
export type DhcpLeaseState =
  | "waiting for offer"
  | "requesting"
  | "bound"
  | "renewing"
  | "rebinding"
  | "expired"
  | "released"
  | "failed";

/**
 * Lease state of a DHCP vNIC, inside its `networks[<net>]` entry of `get_device_status` (an
 * allowed extra, protocol.md §9 item 6; the original has no such field).
 */
export interface DhcpLease {
  /**
   * `waiting for offer` (or `requesting`) until the first lease, `bound` while one holds,
   * `renewing` from T1 and `rebinding` from T2 while no server answered, `expired` when the lease
   * ran out without an answer (the address is removed), `released` after DHCPRELEASE (runtime
   * stopped), `failed` when the client could not start.
   */
  state: DhcpLeaseState;
  /** ISO 8601 end of the current lease, when one is held. */
  expires_at?: string;
}

/** One entry of `networks` in a present runtime's status. */
export interface DeviceNetwork {
  /** Address on that network (the DHCP lease's when there is one). */
  ip_address: string | null;
  /** MAC of the endpoint. */
  mac_address: string | null;
  /** Gateway of that network (the lease's when there is one). */
  gateway: string | null;
  /** Lease state, for DHCP vNICs only. */
  dhcp?: DhcpLease;
}

const dhcpLease = z.strictObject({
  state: z.enum([
    "waiting for offer",
    "requesting",
    "bound",
    "renewing",
    "rebinding",
    "expired",
    "released",
    "failed",
  ]),
  expires_at: isoTime.optional(),
});

const deviceNetwork = z.strictObject({
  ip_address: z.string().nullable(),
  mac_address: z.string().nullable(),
  gateway: z.string().nullable(),
  dhcp: dhcpLease.optional(),
});

/** `get_device_status` while an operation runs (reference §4.7). */
const operationStatus = {
  status: z.enum(["creating", "deleting"]),
  device_id: z.string(),
  operation: z.enum(["create", "delete"]),
  step: operationStep.optional(),
  started_at: isoTime,
  updated_at: isoTime,
  message: z.string(),
};

/** `get_device_status` after an operation failed: `error` holds why (reference §4.7). */
const failedStatus = { ...operationStatus, status: z.literal("error"), error: z.string() };

/** `get_device_status` of an absent runtime. */
const notFoundStatus = {
  status: z.literal("not_found"),
  device_id: z.string(),
  message: z.string(),
};

/** `get_device_status` of a present runtime (reference §4.7, protocol.md §3). */
const presentStatus = {
  status: z.literal("success"),
  device_id: z.string(),
  container_status: containerStatus,
  is_running: z.boolean(),
  networks: z.record(z.string(), deviceNetwork),
  restart_count: z.number().int().min(0),
  internal_ip: z.string().nullable().optional(),
  uptime_seconds: z.number().int().min(0).optional(),
  exit_code: z.number().int().optional(),
  health_status: z.enum(["starting", "healthy", "unhealthy"]).optional(),
  serial_ports: z.array(z.strictObject({
    name: z.string(),
    device_id: z.string(),
    container_path: z.string(),
    status: z.enum(["disconnected", "connected", "error"]),
    current_host_path: z.string().nullable().optional(),
  })).optional(),
};

/** One serial device of `get_serial_devices` (reference §4.9). */
export interface SerialDevice {
  /** Device node, e.g. `/dev/ttyUSB0`. */
  path: string;
  /** Stable link under `/dev/serial/by-id/`, or null when udev made none. */
  device_id: string | null;
  /** USB vendor id (4 hex digits), or null. */
  vendor_id: string | null;
  /** USB product id (4 hex digits), or null. */
  product_id: string | null;
  /** USB serial number, or null. */
  serial: string | null;
  /** USB manufacturer string, or null. */
  manufacturer: string | null;
  /** USB product string, or null. */
  product: string | null;
}

const serialDevice = z.strictObject({
  path: z.string(),
  device_id: z.string().nullable(),
  vendor_id: z.string().nullable(),
  product_id: z.string().nullable(),
  serial: z.string().nullable(),
  manufacturer: z.string().nullable(),
  product: z.string().nullable(),
});

/** `"<N> MB"`, `"unlimited"` or `"N/A"` (reference §4.6). */
const memoryLimit = z.string().regex(
  /^(\d+ MB|unlimited|N\/A)$/,
  'must be "<N> MB", "unlimited" or "N/A"',
);
/** `"<x.y> vCPU"`, `"unlimited"` or `"N/A"` (reference §4.6). */
const cpuLimit = z.string().regex(
  /^(\d+\.\d vCPU|unlimited|N\/A)$/,
  'must be "<x.y> vCPU", "unlimited" or "N/A"',
);

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
    ack: ack({
      status: z.literal("creating"),
      container_id: z.string(),
      message: z.string(),
      serial_configs_count: z.number().int().min(0).optional(),
    }),
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
    ack: lifecycleAck,
    device: true,
    long: false,
  },
  stop_device: {
    request: z.object(deviceShape),
    ack: lifecycleAck,
    device: true,
    long: false,
  },
  restart_device: {
    request: z.object(deviceShape),
    ack: lifecycleAck,
    device: true,
    long: false,
  },
  run_command: {
    request: runCommand,
    ack: ack({
      status: z.enum(["success", "error"]),
      // `status` is "error" whenever `ok` is false; `ok` is `status_code < 400` (requests);
      // `content_type` says whether the body parsed as JSON; header names as the runtime sent.
      http_response: z.strictObject({
        status_code: z.number().int(),
        headers: z.record(z.string(), z.string()),
        ok: z.boolean(),
        body: z.unknown(),
        content_type: z.enum(["application/json", "text/plain"]),
      }),
    }, {
      // `api: "debug"`: the original's debug bridge, not implemented here.
      status: z.literal("error"),
      error: z.string(),
      debug_response: z.strictObject({ type: z.literal("debug_error"), error: z.string() }),
    }),
    device: true,
    long: false,
  },
  get_consumption_device: {
    request: z.object({ ...deviceShape, ...consumptionShape }),
    // The original's success has no `status` (reference §4.6).
    ack: ack({ device_id: z.string(), memory: memoryLimit, cpu: cpuLimit, ...series }),
    device: true,
    long: false,
  },
  get_consumption_orchestrator: {
    request: z.object({ ...commonShape, ...consumptionShape }),
    ack: ack({
      ip_addresses: z.array(z.strictObject({ interface: z.string(), ip_address: z.string() })),
      memory: z.number().int().min(0),
      cpu: z.number().int().min(1),
      os: z.string(),
      kernel: z.string(),
      disk: z.number().int().min(0),
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
    ack: ack(operationStatus, failedStatus, notFoundStatus, presentStatus),
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
      interfaces: z.array(z.strictObject({
        name: z.string(),
        ip_address: z.string().nullable(),
        ipv4_addresses: z.array(z.string()),
        mac_address: z.string().nullable(),
        subnet: z.string().nullable().optional(),
        gateway: z.string().nullable().optional(),
        dedicated_to: z.string().optional(),
        dedicated_only: z.literal(true).optional(),
      })),
    }),
    device: false,
    long: false,
  },
  get_serial_devices: {
    request: z.object(commonShape),
    ack: ack({
      status: z.literal("success"),
      devices: z.array(serialDevice),
      count: z.number().int().min(0),
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
