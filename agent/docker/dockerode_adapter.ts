/**
 * The {@linkcode DockerPort} over dockerode: the only file that imports it. Translates our shapes
 * to the engine's JSON and engine errors to {@linkcode DockerError}.
 *
 * @module
 */
import "./dockerode_slim.ts"; // first: keeps gRPC and ssh2 out before dockerode loads
import Docker from "dockerode";
import { wrap } from "./errors.ts";
import type {
  ContainerInfo,
  ContainerSpec,
  DockerPort,
  EndpointSpec,
  NetworkInfo,
  NetworkSpec,
  PullProgress,
} from "./port.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrap(err, what);
  }
}

async function orNull<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { statusCode?: number })?.statusCode === 404) return null;
    throw wrap(err, what);
  }
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
  const docker = new Docker({ socketPath });
  return {
    version: () =>
      call("Cannot read the Docker version", async () => {
        const v = await docker.version();
        return { version: v.Version, apiVersion: v.ApiVersion };
      }),
    imageExists: async (ref) =>
      (await orNull(`Cannot inspect image "${ref}"`, () => docker.getImage(ref).inspect())) !==
        null,
    pullImage: (ref, onProgress) =>
      call(`Cannot pull image "${ref}"`, () =>
        new Promise<void>((resolve, reject) => {
          docker.pull(ref, (err: unknown, stream: NodeJS.ReadableStream) => {
            if (err) return reject(err);
            docker.modem.followProgress(
              stream,
              (e: unknown) => (e ? reject(e) : resolve()),
              (p: Json) =>
                onProgress({
                  status: String(p.status ?? ""),
                  current: p.progressDetail?.current,
                  total: p.progressDetail?.total,
                } as PullProgress),
            );
          });
        })),
    createContainer: (spec: ContainerSpec) =>
      call(`Cannot create container "${spec.name}"`, async () => {
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
        });
        return c.id;
      }),
    startContainer: (name) =>
      call(`Cannot start container "${name}"`, async () => {
        await docker.getContainer(name).start().catch((e: Json) => {
          if (e?.statusCode !== 304) throw e; // 304: already running
        });
      }),
    stopContainer: (name, t) =>
      call(`Cannot stop container "${name}"`, async () => {
        await docker.getContainer(name).stop({ t }).catch((e: Json) => {
          if (e?.statusCode !== 304) throw e; // 304: already stopped
        });
      }),
    setRestartPolicy: (name, policy) =>
      call(
        `Cannot set the restart policy of "${name}"`,
        () => docker.getContainer(name).update({ RestartPolicy: { Name: policy } }),
      ),
    restartContainer: (name, t) =>
      call(`Cannot restart container "${name}"`, () => docker.getContainer(name).restart({ t })),
    removeContainer: (name, force) =>
      call(`Cannot remove container "${name}"`, async () => {
        await docker.getContainer(name).remove({ force, v: true }).catch((e: Json) => {
          if (e?.statusCode !== 404) throw e;
        });
      }),
    inspectContainer: async (name) => {
      const c = await orNull(
        `Cannot inspect container "${name}"`,
        () => docker.getContainer(name).inspect(),
      );
      return c ? toContainerInfo(c) : null;
    },
    listContainers: (labels) =>
      call("Cannot list containers", async () => {
        const list = await docker.listContainers({
          all: true,
          filters: { label: labelFilter(labels) },
        });
        return list.map((c) => ({
          id: c.Id,
          name: (c.Names[0] ?? "").replace(/^\//, ""),
          labels: c.Labels ?? {},
          state: c.State,
        }));
      }),
    statsOnce: (name) =>
      call(`Cannot read stats of "${name}"`, async () => {
        const s: Json = await docker.getContainer(name).stats(
          { stream: false, "one-shot": true } as Json,
        );
        const mem = s.memory_stats ?? {};
        const cache = mem.stats?.inactive_file ?? mem.stats?.total_inactive_file ?? 0;
        return {
          cpuTotal: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
          systemCpu: s.cpu_stats?.system_cpu_usage ?? 0,
          onlineCpus: s.cpu_stats?.online_cpus ?? 1,
          memoryBytes: Math.max(0, (mem.usage ?? 0) - cache),
        };
      }),
    createNetwork: (spec: NetworkSpec) =>
      call(`Cannot create network "${spec.name}"`, async () => {
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
        });
        return n.id;
      }),
    removeNetwork: (name) =>
      call(`Cannot remove network "${name}"`, async () => {
        await docker.getNetwork(name).remove().catch((e: Json) => {
          if (e?.statusCode !== 404) throw e;
        });
      }),
    inspectNetwork: async (name) => {
      const n = await orNull(
        `Cannot inspect network "${name}"`,
        () => docker.getNetwork(name).inspect(),
      );
      return n ? toNetworkInfo(n) : null;
    },
    listNetworks: (filter) =>
      call("Cannot list networks", async () => {
        const filters: Record<string, string[]> = {};
        if (filter.driver) filters.driver = [filter.driver];
        if (filter.labels) filters.label = labelFilter(filter.labels);
        const list = await docker.listNetworks({ filters });
        if (filter.attachments === false) return list.map(toNetworkInfo);
        // The list endpoint leaves `Containers` empty: inspect each one for attachments.
        const full = await Promise.all(
          list.map((n) => docker.getNetwork(n.Id).inspect().catch(() => null)),
        );
        return full.filter((n) => n !== null).map(toNetworkInfo);
      }),
    connectNetwork: (network, container, endpoint) =>
      call(
        `Cannot connect "${container}" to network "${network}"`,
        () =>
          docker.getNetwork(network).connect({
            Container: container,
            EndpointConfig: endpoint ? endpointConfig(endpoint) : {},
          }),
      ),
    events: (onEvent, signal) =>
      call("Cannot follow Docker events", async () => {
        const stream = await docker.getEvents({
          filters: {
            type: ["container", "network"],
            event: ["die", "destroy", "start", "stop", "disconnect", "connect"],
          },
        }) as unknown as NodeJS.ReadableStream & { destroy(): void };
        await new Promise<void>((resolve, reject) => {
          const stop = () => {
            stream.destroy();
            resolve();
          };
          if (signal.aborted) return stop();
          signal.addEventListener("abort", stop, { once: true });
          let buffer = "";
          stream.on("data", (chunk: Uint8Array | string) => {
            buffer += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
            let nl: number;
            while ((nl = buffer.indexOf("\n")) >= 0) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (!line) continue;
              try {
                const e: Json = JSON.parse(line);
                const attrs: Record<string, string> = e.Actor?.Attributes ?? {};
                const { name = "", ...labels } = attrs;
                onEvent({ type: e.Type ?? "", action: e.Action ?? "", name, labels });
              } catch { /* a partial or foreign line: ignore */ }
            }
          });
          stream.on("end", () => {
            signal.removeEventListener("abort", stop);
            resolve();
          });
          stream.on("error", (err: unknown) => {
            signal.removeEventListener("abort", stop);
            if (signal.aborted) resolve();
            else reject(err);
          });
        });
      }),
    disconnectNetwork: (network, container, force) =>
      call(
        `Cannot disconnect "${container}" from network "${network}"`,
        () => docker.getNetwork(network).disconnect({ Container: container, Force: force }),
      ),
  };
}
