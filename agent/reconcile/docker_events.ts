/**
 * Docker's event stream as a hint: an event about one of our objects (a runtime died, a network
 * was disconnected ...) asks the reconciler for a pass; the pass observes the truth itself.
 *
 * @module
 */
import type { DockerEvent, DockerPort } from "../docker/port.ts";
import { isOurNetworkName } from "../docker/networks.ts";
import type { Logger } from "../log.ts";
import { inScope, LABELS } from "../runtimes/naming.ts";

/** Re-subscribe delays after the event stream broke (daemon restart): 1 s, doubling to 30 s;
 * the slow timer covers the gap meanwhile. */
const EVENTS_RETRY_MIN_MS = 1_000;
const EVENTS_RETRY_MAX_MS = 30_000;

/** Whether an engine event concerns our runtimes: a container of this agent's scope (another
 * agent's runtimes on the same engine must not wake this one), or one of our network names. */
export function isRelevantEvent(e: DockerEvent, scope: Record<string, string> = {}): boolean {
  if (e.type === "container") return e.labels[LABELS.managed] === "1" && inScope(e.labels, scope);
  return isOurNetworkName(e.name);
}

/** Follows the engine's events until `signal` aborts; `resumed` runs after the stream came back
 * (the engine may have been down: converge what was missed). */
export async function followDockerEvents(
  docker: DockerPort,
  onEvent: (reason: string) => void,
  resumed: () => void,
  log: Logger,
  signal: AbortSignal,
  scope: Record<string, string> = {},
): Promise<void> {
  if (!docker.events) return;
  let delay = EVENTS_RETRY_MIN_MS;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      await docker.events((e) => {
        if (isRelevantEvent(e, scope)) onEvent(`docker ${e.type} ${e.action} ${e.name}`);
      }, signal);
    } catch (err) {
      log.warn(`Docker event stream lost: ${(err as Error).message}`);
    }
    if (signal.aborted) return;
    // A stream that lived a while was healthy: retry fast.
    if (Date.now() - started > EVENTS_RETRY_MAX_MS) delay = EVENTS_RETRY_MIN_MS;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, delay);
      signal.addEventListener("abort", done, { once: true });
    });
    if (signal.aborted) return;
    delay = Math.min(delay * 2, EVENTS_RETRY_MAX_MS);
    resumed();
  }
}
