/**
 * The {@linkcode DockerPort} over dockerode: the only file that imports it. Translates our shapes
 * to the engine's JSON and engine errors to {@linkcode DockerError}. dockerode builds the
 * requests; ./fetch_modem.ts sends them with Deno's HTTP client (decision 0012).
 *
 * @module
 */
import "./dockerode_slim.ts"; // first: keeps gRPC and ssh2 out before dockerode loads
import Docker from "dockerode";
import { wrap } from "./errors.ts";
import { FetchModem, followProgress, ndjsonSplitter, readText } from "./fetch_modem.ts";
import {
  type CallOptions,
  type ContainerInfo,
  type ContainerSpec,
  DockerError,
  type DockerPort,
  type EndpointSpec,
  type NetworkInfo,
  type NetworkSpec,
  type PullProgress,
} from "./port.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Default bound of one engine call: a healthy engine answers in milliseconds and a loaded one in
 * seconds; after 30 s the engine is hung, and the runtime waiting on it must not wait forever. */
export const CALL_TIMEOUT_MS = 30_000;
/** A pull that reports no progress for 2 minutes is stalled (a registry that stopped sending);
 * a slow but moving pull of a large image is never cut. */
export const PULL_IDLE_MS = 120_000;

/** The event stream is open for as long as the agent runs: no timeout (the largest timer value). */
const EVENTS_NO_TIMEOUT_MS = 2 ** 31 - 1;

/** A call's abort signal: the caller's, plus the default timeout. */
function bound(
  o: CallOptions | undefined,
  ms: number,
): { signal: AbortSignal; timeout: AbortSignal } {
  const timeout = AbortSignal.timeout(ms);
  return { signal: o?.signal ? AbortSignal.any([o.signal, timeout]) : timeout, timeout };
}

async function call<T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  o?: CallOptions,
  ms: number = CALL_TIMEOUT_MS,
): Promise<T> {
  const b = bound(o, ms);
  try {
    return await raceAbort(fn(b.signal), b.signal);
  } catch (err) {
    throw aborted(what, b, ms, o) ?? wrap(err, what);
  }
}

/** Settles with `p`, or rejects as soon as `signal` aborts: a request that ignores its signal
 * (a stuck socket in node:http) must not hold the caller; it is left to the engine's socket. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function orNull<T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  o?: CallOptions,
): Promise<T | null> {
  const b = bound(o, CALL_TIMEOUT_MS);
  try {
    return await raceAbort(fn(b.signal), b.signal);
  } catch (err) {
    const a = aborted(what, b, CALL_TIMEOUT_MS, o);
    if (a) throw a;
    if ((err as { statusCode?: number })?.statusCode === 404) return null;
    throw wrap(err, what);
  }
}

/** The error of an aborted call, in words (dockerode only says "The operation was aborted"). */
function aborted(
  what: string,
  b: { timeout: AbortSignal },
  ms: number,
  o: CallOptions | undefined,
): DockerError | null {
  if (o?.signal?.aborted) return new DockerError(`${what}: cancelled`, 0);
  if (b.timeout.aborted) {
    return new DockerError(
      `${what}: no answer within ${ms / 1000} s (the Docker engine is hung or overloaded)`,
      0,
    );
  }
  return null;
}

function labelFilter(labels: Record<string, string> = {}): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

function endpointConfig(e: EndpointSpec): Json {
  const out: Json = {};
  if (e.ipv4) out.IPAMConfig = { IPv4Address: e.ipv4 };
  if (e.mac) out.MacAddress = e.mac;
  return out;
}

function toContainerInfo(c: Json): ContainerInfo {
  const networks: ContainerInfo["networks"] = {};
  for (const [name, n] of Object.entries<Json>(c.NetworkSettings?.Networks ?? {})) {
    networks[name] = {
      network: name,
      ipv4: n.IPAddress || undefined,
      mac: n.MacAddress || undefined,
    };
    if (n.Gateway) networks[name]!.gateway = n.Gateway;
  }
  const host = c.HostConfig ?? {};
  return {
    id: c.Id,
    name: String(c.Name ?? "").replace(/^\//, ""),
    image: c.Config?.Image ?? "",
    labels: c.Config?.Labels ?? {},
    status: c.State?.Status ?? "unknown",
    running: Boolean(c.State?.Running),
    exitCode: c.State?.ExitCode ?? 0,
    startedAt: c.State?.StartedAt ?? "",
    restartCount: c.RestartCount ?? 0,
    pid: c.State?.Pid ?? 0,
    restartPolicy: host.RestartPolicy?.Name ?? "",
    capAdd: host.CapAdd ?? [],
    ulimits: (host.Ulimits ?? []).map((u: Json) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
    dns: host.Dns ?? [],
    networks,
    memoryLimit: host.Memory ?? 0,
    nanoCpus: host.NanoCpus ?? 0,
    ...(c.State?.Health?.Status ? { health: String(c.State.Health.Status) } : {}),
  };
}

function toNetworkInfo(n: Json): NetworkInfo {
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    internal: Boolean(n.Internal),
    options: n.Options ?? {},
    subnets: (n.IPAM?.Config ?? []).filter((c: Json) => c.Subnet).map((c: Json) => ({
      subnet: c.Subnet,
      ...(c.Gateway ? { gateway: c.Gateway } : {}),
    })),
    labels: n.Labels ?? {},
    containers: Object.entries<Json>(n.Containers ?? {}).map(([id, c]) => ({
      id,
      name: c.Name,
      mac: c.MacAddress ?? "",
      ipv4: String(c.IPv4Address ?? "").split("/")[0] ?? "",
    })),
  };
}

/** Builds the port over the engine's Unix socket (e.g. `/var/run/docker.sock`). */
export function dockerodePort(socketPath: string): DockerPort {
  // Typed loosely: every call passes dockerode an `abortSignal` option its typings do not list.
  // dockerode builds the requests; FetchModem sends them over Deno's HTTP client (decision 0012).
  const modem = new FetchModem(socketPath);
  const docker: Json = new Docker({ modem } as Json);
  return {
    version: (o) =>
      call("Cannot read the Docker version", async (abortSignal) => {
        const v = await docker.version({ abortSignal } as Json);
        return { version: v.Version, apiVersion: v.ApiVersion };
      }, o),
    imageExists: async (ref, o) =>
      (await orNull(
        `Cannot inspect image "${ref}"`,
        (abortSignal) => docker.getImage(ref).inspect({ abortSignal } as Json),
        o,
      )) !== null,
    pullImage: (ref, onProgress, o) => {
      // Progress-based timeout: every progress line pushes the deadline out by PULL_IDLE_MS.
      const idle = new AbortController();
      let timer = setTimeout(() => idle.abort(), PULL_IDLE_MS);
      const kick = () => {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(), PULL_IDLE_MS);
      };
      const signal = o?.signal ? AbortSignal.any([o.signal, idle.signal]) : idle.signal;
      return new Promise<void>((resolve, reject) => {
        const fail = (e: unknown) =>
          reject(
            idle.signal.aborted
              ? new DockerError(
                `Cannot pull image "${ref}": no progress for ${PULL_IDLE_MS / 1000} s`,
                0,
              )
              : o?.signal?.aborted
              ? new DockerError(`Cannot pull image "${ref}": cancelled`, 0)
              : wrap(e, `Cannot pull image "${ref}"`),
          );
        docker.pull(
          ref,
          { abortSignal: signal } as Json,
          (err: unknown, stream: ReadableStream<Uint8Array>) => {
            if (err) return fail(err);
            followProgress(
              stream,
              (e: unknown) => {
                if (e || signal.aborted) fail(e ?? new Error("aborted"));
                else resolve();
              },
              (p: Json) => {
                kick();
                onProgress({
                  status: String(p.status ?? ""),
                  current: p.progressDetail?.current,
                  total: p.progressDetail?.total,
                } as PullProgress);
              },
              signal, // aborting also closes the stream
            );
          },
        );
      }).finally(() => clearTimeout(timer));
    },
    createContainer: (spec: ContainerSpec, o) =>
      call(`Cannot create container "${spec.name}"`, async (abortSignal) => {
        const endpoints: Json = {};
        for (const e of spec.endpoints) endpoints[e.network] = endpointConfig(e);
        const first = spec.endpoints[0];
        const c = await docker.createContainer({
          name: spec.name,
          Image: spec.image,
          Hostname: spec.hostname,
          Labels: spec.labels,
          HostConfig: {
            RestartPolicy: { Name: spec.restartPolicy },
            CapAdd: spec.capAdd,
            Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
            Dns: spec.dns,
            ...(first ? { NetworkMode: first.network } : {}),
          },
          NetworkingConfig: { EndpointsConfig: endpoints },
          abortSignal,
        } as Json);
        return c.id;
      }, o),
    startContainer: (name, o) =>
      call(`Cannot start container "${name}"`, async (abortSignal) => {
        await docker.getContainer(name).start({ abortSignal } as Json).catch((e: Json) => {
          if (e?.statusCode !== 304) throw e; // 304: already running
        });
      }, o),
    stopContainer: (name, t, o) =>
      call(
        `Cannot stop container "${name}"`,
        async (abortSignal) => {
          await docker.getContainer(name).stop({ t, abortSignal } as Json).catch((e: Json) => {
            if (e?.statusCode !== 304) throw e; // 304: already stopped
          });
        },
        o,
        t * 1000 + CALL_TIMEOUT_MS,
      ),
    setRestartPolicy: (name, policy, o) =>
      call(
        `Cannot set the restart policy of "${name}"`,
        (abortSignal) =>
          docker.getContainer(name).update(
            { RestartPolicy: { Name: policy }, abortSignal } as Json,
          ),
        o,
      ),
    restartContainer: (name, t, o) =>
      call(
        `Cannot restart container "${name}"`,
        (abortSignal) => docker.getContainer(name).restart({ t, abortSignal } as Json),
        o,
        t * 1000 + CALL_TIMEOUT_MS,
      ),
    removeContainer: (name, force, o) =>
      call(`Cannot remove container "${name}"`, async (abortSignal) => {
        await docker.getContainer(name).remove({ force, v: true, abortSignal } as Json).catch(
          (e: Json) => {
            if (e?.statusCode !== 404) throw e;
          },
        );
      }, o),
    inspectContainer: async (name, o) => {
      const c = await orNull(
        `Cannot inspect container "${name}"`,
        (abortSignal) => docker.getContainer(name).inspect({ abortSignal } as Json),
        o,
      );
      return c ? toContainerInfo(c) : null;
    },
    listContainers: (labels, o) =>
      call("Cannot list containers", async (abortSignal) => {
        const list = await docker.listContainers({
          all: true,
          filters: { label: labelFilter(labels) },
          abortSignal,
        } as Json);
        return list.map((c: Json) => ({
          id: c.Id,
          name: (c.Names[0] ?? "").replace(/^\//, ""),
          labels: c.Labels ?? {},
          state: c.State,
        }));
      }, o),
    statsOnce: (name, o) =>
      call(`Cannot read stats of "${name}"`, async (abortSignal) => {
        const s: Json = await docker.getContainer(name).stats(
          { stream: false, "one-shot": true, abortSignal } as Json,
        );
        const mem = s.memory_stats ?? {};
        const cache = mem.stats?.inactive_file ?? mem.stats?.total_inactive_file ?? 0;
        return {
          cpuTotal: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
          systemCpu: s.cpu_stats?.system_cpu_usage ?? 0,
          onlineCpus: s.cpu_stats?.online_cpus ?? 1,
          memoryBytes: Math.max(0, (mem.usage ?? 0) - cache),
        };
      }, o),
    createNetwork: (spec: NetworkSpec, o) =>
      call(`Cannot create network "${spec.name}"`, async (abortSignal) => {
        const n = await docker.createNetwork({
          Name: spec.name,
          Driver: spec.driver,
          Internal: spec.internal,
          CheckDuplicate: true,
          Options: spec.options,
          Labels: spec.labels,
          IPAM: {
            Driver: "default",
            Config: spec.subnets.map((s) => ({
              Subnet: s.subnet,
              ...(s.gateway ? { Gateway: s.gateway } : {}),
            })),
          },
          abortSignal,
        } as Json);
        return n.id;
      }, o),
    removeNetwork: (name, o) =>
      call(`Cannot remove network "${name}"`, async (abortSignal) => {
        await docker.getNetwork(name).remove({ abortSignal } as Json).catch((e: Json) => {
          if (e?.statusCode !== 404) throw e;
        });
      }, o),
    inspectNetwork: async (name, o) => {
      const n = await orNull(
        `Cannot inspect network "${name}"`,
        (abortSignal) => docker.getNetwork(name).inspect({ abortSignal } as Json),
        o,
      );
      return n ? toNetworkInfo(n) : null;
    },
    listNetworks: (filter, o) =>
      call("Cannot list networks", async (abortSignal) => {
        const filters: Record<string, string[]> = {};
        if (filter.driver) filters.driver = [filter.driver];
        if (filter.labels) filters.label = labelFilter(filter.labels);
        const list = await docker.listNetworks({ filters, abortSignal } as Json);
        if (filter.attachments === false) return list.map(toNetworkInfo);
        // The list endpoint leaves `Containers` empty: inspect each one for attachments. A
        // network gone between the list and its inspect (404) is left out; any other failure
        // fails the listing (a partial picture is worse than none: see plan.ts on doubt).
        const full = await Promise.all(
          list.map((n: Json) =>
            docker.getNetwork(n.Id).inspect({ abortSignal } as Json).catch((e: Json) => {
              if (e?.statusCode === 404) return null;
              throw e;
            })
          ),
        );
        return full.filter((n: Json) => n !== null).map(toNetworkInfo);
      }, o),
    connectNetwork: (network, container, endpoint, o) =>
      call(
        `Cannot connect "${container}" to network "${network}"`,
        (abortSignal) =>
          docker.getNetwork(network).connect({
            Container: container,
            EndpointConfig: endpoint ? endpointConfig(endpoint) : {},
            abortSignal,
          } as Json),
        o,
      ),
    events: (onEvent, signal) =>
      call(
        "Cannot follow Docker events",
        async () => {
          const stream = await docker.getEvents({
            filters: {
              type: ["container", "network"],
              event: ["die", "destroy", "start", "stop", "disconnect", "connect"],
            },
            abortSignal: signal,
          }) as ReadableStream<Uint8Array>;
          // A line that is not JSON is skipped (the splitter's default), the next ones count.
          const push = ndjsonSplitter((e: Json) => {
            const attrs: Record<string, string> = e.Actor?.Attributes ?? {};
            const { name = "", ...labels } = attrs;
            try {
              onEvent({ type: e.Type ?? "", action: e.Action ?? "", name, labels });
            } catch { /* the listener's problem: the stream goes on */ }
          });
          // Ends when the engine closes the stream (a restart), or at once when `signal` aborts.
          await readText(stream, push, signal);
        },
        undefined,
        EVENTS_NO_TIMEOUT_MS,
      ),
    disconnectNetwork: (network, container, force, o) =>
      call(
        `Cannot disconnect "${container}" from network "${network}"`,
        (abortSignal) =>
          docker.getNetwork(network).disconnect(
            { Container: container, Force: force, abortSignal } as Json,
          ),
        o,
      ),
  };
}
