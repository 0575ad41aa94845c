/**
 * `agent unpin <runtime>`: forgets a runtime's pinned API certificate fingerprint without
 * deleting the runtime (a runtime whose certificate was renewed is otherwise refused for good).
 *
 * The running agent owns `<state-dir>/runtimes.json` and rewrites it from memory, so the command
 * does not edit it: it leaves a request at `<state-dir>/pin_resets/<runtime>`. The next
 * `run_command` to that runtime whose certificate differs from the pin consumes the request and
 * pins the new certificate instead of refusing it. The request waits for the agent when it is
 * not running; it is used once.
 *
 * @module
 */
import { RUNTIME_NAME_RE } from "../contracts/_internal.ts";
import { atomicWrite } from "./state/atomic_write.ts";

/** Directory of pending requests under the state directory. */
export const PIN_RESETS_DIR = "pin_resets";

/** The request file of a runtime, or a TypeError for a name that is not a runtime name. Pure. */
export function unpinPath(stateDir: string, runtime: string): string {
  if (!RUNTIME_NAME_RE.test(runtime)) {
    throw new TypeError(`"${runtime}" is not a runtime name (letters, digits, "_", ".", "-")`);
  }
  return `${stateDir}/${PIN_RESETS_DIR}/${runtime}`;
}

/** Leaves the request. */
export async function requestUnpin(stateDir: string, runtime: string): Promise<void> {
  const path = unpinPath(stateDir, runtime);
  await Deno.mkdir(`${stateDir}/${PIN_RESETS_DIR}`, { recursive: true, mode: 0o700 });
  await atomicWrite(path, new Date().toISOString() + "\n");
}

/** Consumes the request of a runtime: true when there was one. Never throws. */
export async function takeUnpin(stateDir: string, runtime: string): Promise<boolean> {
  let path: string;
  try {
    path = unpinPath(stateDir, runtime);
  } catch {
    return false;
  }
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile) return false; // a symlink or directory planted there is not a request
    await Deno.remove(path);
    return true;
  } catch {
    return false;
  }
}

/** The pinned fingerprint recorded for a runtime in `runtimes.json`, or null. */
async function recordedPin(stateDir: string, runtime: string): Promise<string | null | undefined> {
  try {
    const raw = JSON.parse(await Deno.readTextFile(`${stateDir}/runtimes.json`));
    const e = raw?.runtimes?.[runtime];
    if (!e) return undefined;
    return typeof e.tls_fingerprint === "string" ? e.tls_fingerprint : null;
  } catch {
    return undefined;
  }
}

/** The CLI command: prints what it did; exit 0, or 1 with one line on error. */
export async function runUnpin(
  stateDir: string,
  runtime: string | undefined,
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  if (!runtime) {
    err("agent unpin: name the runtime (agent unpin RUNTIME)");
    return 2;
  }
  try {
    unpinPath(stateDir, runtime);
  } catch (e) {
    err(`agent unpin: ${(e as Error).message}`);
    return 2;
  }
  const pin = await recordedPin(stateDir, runtime);
  if (pin === undefined) {
    err(
      `agent unpin: ${runtime} is not a runtime of this agent (not in ${stateDir}/runtimes.json)`,
    );
    return 1;
  }
  try {
    await requestUnpin(stateDir, runtime);
  } catch (e) {
    err(`agent unpin: cannot write the request under ${stateDir}: ${(e as Error).message}`);
    return 1;
  }
  out(
    pin
      ? `${runtime}: pinned certificate ${pin} will be replaced by the one it presents next`
      : `${runtime}: no certificate pinned yet; the next one it presents will be pinned`,
  );
  return 0;
}
