/**
 * The narrow Docker port: only the engine calls the agent makes, in our own shapes. The one
 * implementation over dockerode is `dockerode_adapter.ts`; tests use fakes. Desired and observed
 * objects share one shape (`ContainerSpec` is a subset of what `ContainerInfo` reports), so a
 * planner can compare them while ignoring what Docker fills in.
 *
 * @module
 */

/** An error the engine answered with; `statusCode` is the HTTP status (404 missing, 409 conflict). */
export class DockerError extends Error {
  /** HTTP status of the engine's answer (0 when the engine could not be reached). */
  readonly statusCode: number;
  /** Builds an engine error. */
  constructor(message: string, statusCode: number) {
    super(message);
    this.name = "DockerError";
    this.statusCode = statusCode;
  }
}

/** One endpoint of a container on a network, desired or observed. */
export interface EndpointSpec {
  /** Network name. */
  network: string;
  /** Static IPv4 (IPAM config) or, when observed, the address Docker gave. */
  ipv4?: string;
  /** MAC address of the endpoint. */
  mac?: string;
}

/** Ulimit as Docker takes it (-1 = unlimited). */
export interface Ulimit {
  /** e.g. `rtprio`, `memlock`. */
  name: string;
  /** Soft limit. */
  soft: number;
  /** Hard limit. */
  hard: number;
}

/** What we ask Docker to create. */
export interface ContainerSpec {
  /** Container name. */
  name: string;
  /** Image reference. */
  image: string;
  /** Host name inside the container. */
  hostname: string;
  /** Ownership labels. */
  labels: Record<string, string>;
  /** Restart policy name. */
  restartPolicy: "always" | "unless-stopped" | "no";
  /** Added capabilities. */
  capAdd: string[];
  /** Ulimits. */
  ulimits: Ulimit[];
  /** DNS servers (empty: Docker's default). */
  dns: string[];
  /** Endpoints given at create time, in attach order. */
  endpoints: EndpointSpec[];
}

/** A container as observed. */
export interface ContainerInfo {
  /** Full id. */
  id: string;
  /** Name without the leading slash. */
  name: string;
  /** Image reference it was created from. */
  image: string;
  /** Labels. */
  labels: Record<string, string>;
  /** `created`, `running`, `paused`, `restarting`, `exited`, `dead`. */
  status: string;
  /** Whether it runs. */
  running: boolean;
  /** Exit code of the last run. */
  exitCode: number;
  /** ISO start time (Docker's zero date when never started). */
  startedAt: string;
  /** How often Docker restarted it. */
  restartCount: number;
  /** PID of its init process on the host (0 when not running). */
  pid: number;
  /** Restart policy name. */
  restartPolicy: string;
  /** Added capabilities. */
  capAdd: string[];
  /** Ulimits. */
  ulimits: Ulimit[];
  /** DNS servers. */
  dns: string[];
  /** Endpoints by network name, with gateway as Docker reports it. */
  networks: Record<string, EndpointSpec & { gateway?: string }>;
  /** Memory limit in bytes (0 = unlimited). */
  memoryLimit: number;
  /** CPU limit in nano CPUs (0 = unlimited). */
  nanoCpus: number;
  /** Docker's health check state (`starting`, `healthy`, `unhealthy`) when the image has one. */
  health?: string;
}

/** A short container entry of a list. */
export interface ContainerSummary {
  /** Full id. */
  id: string;
  /** Name without the leading slash. */
  name: string;
  /** Labels. */
  labels: Record<string, string>;
  /** Docker's state word (`running`, `exited` ...). */
  state: string;
}

/** What we ask Docker to create. */
export interface NetworkSpec {
  /** Network name. */
  name: string;
  /** `bridge` or `macvlan`. */
  driver: "bridge" | "macvlan";
  /** Internal bridge (no route out). */
  internal: boolean;
  /** Driver options (`parent` for MACVLAN). */
  options: Record<string, string>;
  /** IPAM pools. */
  subnets: { subnet: string; gateway?: string }[];
  /** Ownership labels. */
  labels: Record<string, string>;
}

/** A network as observed. */
export interface NetworkInfo extends NetworkSpec {
  /** Full id. */
  id: string;
  /** Attached containers: name, MAC and IPv4 (without prefix). */
  containers: { id: string; name: string; mac: string; ipv4: string }[];
}

/** One raw stats reading (one-shot): two readings give a CPU percentage. */
export interface StatsReading {
  /** Container CPU time, ns. */
  cpuTotal: number;
  /** Host CPU time, ns (`system_cpu_usage`). */
  systemCpu: number;
  /** CPUs online. */
  onlineCpus: number;
  /** Memory in use without page cache, bytes. */
  memoryBytes: number;
}

/** Pull progress as the engine reports it. */
export interface PullProgress {
  /** e.g. `Downloading`, `Pull complete`. */
  status: string;
  /** Bytes done over total of the current layer, when known. */
  current?: number;
  /** Total bytes of the current layer. */
  total?: number;
}

/** One engine event (the fields we read). */
export interface DockerEvent {
  /** `container` or `network`. */
  type: string;
  /** e.g. `die`, `destroy`, `start`, `disconnect`. */
  action: string;
  /** Container or network name. */
  name: string;
  /** Labels (container events carry the container's labels). */
  labels: Record<string, string>;
}

/** Per-call options: every call can be cancelled (a reconciliation pass that timed out aborts
 * what it still has in flight, so the next pass never overlaps it). The adapter adds a default
 * timeout of its own to every call. */
export interface CallOptions {
  /** Aborts the call (the engine request is destroyed, the promise rejects). */
  signal?: AbortSignal;
}

/** The Docker calls the agent makes. Every method rejects with {@linkcode DockerError}. */
export interface DockerPort {
  /**
   * Streams container and network events until `signal` aborts (resolves) or the engine closes
   * the stream (resolves; the caller re-subscribes) or cannot be reached (rejects).
   */
  events?(onEvent: (e: DockerEvent) => void, signal: AbortSignal): Promise<void>;
  /** Engine and API versions. */
  version(o?: CallOptions): Promise<{ version: string; apiVersion: string }>;
  /** Whether an image is present locally. */
  imageExists(ref: string, o?: CallOptions): Promise<boolean>;
  /** Pulls an image, reporting progress. */
  pullImage(ref: string, onProgress: (p: PullProgress) => void, o?: CallOptions): Promise<void>;
  /** Creates a container with all its endpoints; returns its id. */
  createContainer(spec: ContainerSpec, o?: CallOptions): Promise<string>;
  /** Starts a container (no-op when running). */
  startContainer(name: string, o?: CallOptions): Promise<void>;
  /** Stops a container (no-op when stopped). */
  stopContainer(name: string, timeoutS: number, o?: CallOptions): Promise<void>;
  /** Changes a container's restart policy in place (no re-create, no restart). */
  setRestartPolicy?(name: string, policy: "always" | "no", o?: CallOptions): Promise<void>;
  /** Restarts a container. */
  restartContainer(name: string, timeoutS: number, o?: CallOptions): Promise<void>;
  /** Removes a container (force: kill first). */
  removeContainer(name: string, force: boolean, o?: CallOptions): Promise<void>;
  /** Inspects a container; null when it does not exist. */
  inspectContainer(name: string, o?: CallOptions): Promise<ContainerInfo | null>;
  /** Lists containers (running or not) carrying every given label. */
  listContainers(labels: Record<string, string>, o?: CallOptions): Promise<ContainerSummary[]>;
  /** One stats reading, without waiting for a second sample. */
  statsOnce(name: string, o?: CallOptions): Promise<StatsReading>;
  /** Creates a network; returns its id. */
  createNetwork(spec: NetworkSpec, o?: CallOptions): Promise<string>;
  /** Removes a network. */
  removeNetwork(name: string, o?: CallOptions): Promise<void>;
  /** Inspects a network; null when it does not exist. */
  inspectNetwork(name: string, o?: CallOptions): Promise<NetworkInfo | null>;
  /** Lists networks, by driver and/or labels; `attachments: false` skips the per-network
   * inspect that fills `containers` (left empty then). */
  listNetworks(
    filter: { driver?: string; labels?: Record<string, string>; attachments?: boolean },
    o?: CallOptions,
  ): Promise<NetworkInfo[]>;
  /** Connects a container to a network (Docker ignores a MAC here, see environment.md). */
  connectNetwork(
    network: string,
    container: string,
    endpoint?: EndpointSpec,
    o?: CallOptions,
  ): Promise<void>;
  /** Disconnects a container from a network. */
  disconnectNetwork(
    network: string,
    container: string,
    force: boolean,
    o?: CallOptions,
  ): Promise<void>;
}

/** Whether an engine API version string is at least `major.minor`. */
export function apiAtLeast(apiVersion: string, major: number, minor: number): boolean {
  const [a, b] = apiVersion.split(".").map(Number);
  return (a ?? 0) > major || ((a ?? 0) === major && (b ?? 0) >= minor);
}
