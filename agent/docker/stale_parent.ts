/**
 * A Docker defect the agent cannot heal and must explain (moby/libnetwork#1743): when a daemon
 * start cannot restore a MACVLAN network (its parent was missing then), the macvlan driver keeps
 * that network's record after the network is removed. At a later daemon start the stale record
 * can claim the parent again, and every network create on that parent fails with
 * "network dm-<id> is already using parent interface <parent>". No API call clears it; only
 * resetting Docker's network store does.
 *
 * @module
 */

/** The parent and the stale holder named by Docker's refusal, or null for any other error. */
export function staleParent(error: string): { parent: string; holder: string } | null {
  const m = /network (dm-[0-9a-f]+) is already using parent interface (\S+)/.exec(error);
  return m ? { parent: m[2]!, holder: m[1]! } : null;
}

/** One line for operators: what is wrong and what to do. */
export function staleParentAdvice(parent: string, holder: string): string {
  return `Docker's macvlan driver still holds a removed network (${holder}) on parent ${parent}, ` +
    `a Docker defect after a daemon restart: no MACVLAN network can be made on ${parent} until ` +
    `Docker's network store is reset (stop Docker, delete ` +
    `/var/lib/docker/network/files/local-kv.db, start Docker; the agent re-creates its networks)`;
}
