/**
 * Whether the agent runs in a Docker container, and which: a 64-hex id in `/proc/self/cgroup`
 * (cgroup v1) or in `/proc/self/mountinfo` (cgroup v2: Docker bind-mounts
 * `/var/lib/docker/containers/<id>/hostname`), or the host name (Docker's default is the short
 * id), each confirmed by asking Docker.
 *
 * @module
 */
import type { DockerPort } from "../docker/port.ts";

/** Candidate container ids found in the given texts, most specific first. Pure. */
export function containerIdCandidates(
  cgroup: string,
  mountinfo: string,
  hostname: string,
): string[] {
  const out: string[] = [];
  for (const m of cgroup.matchAll(/[0-9a-f]{64}/g)) out.push(m[0]);
  for (const m of mountinfo.matchAll(/\/containers\/([0-9a-f]{64})\//g)) out.push(m[1]!);
  if (/^[0-9a-f]{12,64}$/.test(hostname)) out.push(hostname);
  return [...new Set(out)];
}

/** The agent's own container id, or null on the host. */
export async function detectSelfContainer(
  docker: DockerPort,
  read: (path: string) => Promise<string> = (p) => Deno.readTextFile(p).catch(() => ""),
  hostname: string = Deno.hostname(),
): Promise<string | null> {
  const ids = containerIdCandidates(
    await read("/proc/self/cgroup"),
    await read("/proc/self/mountinfo"),
    hostname,
  );
  for (const id of ids) {
    const info = await docker.inspectContainer(id).catch(() => null);
    if (info) return info.id;
  }
  return null;
}
