/**
 * Image pulls in the background: a pull can take minutes on a plant's uplink, and a pass that
 * waited for it would hold every other runtime's repairs. The `pull_image` step starts the pull
 * here and waits (its lane stops); when the pull ends, a pass is asked for and the create goes on.
 * A failed pull falls back to a local image of that reference (protocol.md §7).
 *
 * @module
 */
import type { DockerPort } from "../docker/port.ts";
import type { Logger } from "../log.ts";

/** State of one image. */
export type PullState =
  | { kind: "running" }
  | { kind: "ready" }
  | { kind: "failed"; error: string };

/** An ended pull is remembered this long: the creates waiting for it pick up the outcome in the
 * next pass (milliseconds later); afterwards a new create pulls again (a new `latest`). */
const REMEMBER_MS = 60_000;

/** Pull progress as shown in `get_device_status`. */
export interface PullProgressView {
  /** The engine's word (`Downloading`, `Pull complete` ...). */
  status: string;
  /** Layers done in %, when known. */
  pct?: number;
}

/** The background pulls of one agent. */
export class Pulls {
  #states = new Map<string, { state: PullState; at: number }>();
  #listeners = new Map<string, ((p: PullProgressView) => void)[]>();
  #docker: DockerPort;
  #log: Logger;
  #done: (image: string) => void;

  /** `done` is called when a pull ended (ready or failed). */
  constructor(docker: DockerPort, log: Logger, done: (image: string) => void) {
    this.#docker = docker;
    this.#log = log;
    this.#done = done;
  }

  /** The image's state; starts a pull when none is known. */
  ensure(image: string, onProgress: (p: PullProgressView) => void): PullState {
    const now = Date.now();
    for (const [k, v] of this.#states) {
      if (v.state.kind !== "running" && now - v.at > REMEMBER_MS) this.#states.delete(k);
    }
    const known = this.#states.get(image);
    if (known) {
      if (known.state.kind === "running") this.#listeners.get(image)?.push(onProgress);
      return known.state;
    }
    this.#states.set(image, { state: { kind: "running" }, at: now });
    this.#listeners.set(image, [onProgress]);
    void this.#pull(image);
    return { kind: "running" };
  }

  async #pull(image: string): Promise<void> {
    let layers = 0;
    let done = 0;
    let state: PullState;
    try {
      await this.#docker.pullImage(image, (p) => {
        if (p.status === "Pulling fs layer") layers++;
        if (p.status === "Pull complete" || p.status === "Already exists") done++;
        const view: PullProgressView = { status: p.status };
        if (layers) view.pct = Math.min(100, Math.round((done / layers) * 100));
        for (const l of this.#listeners.get(image) ?? []) l(view);
      });
      state = { kind: "ready" };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if (await this.#docker.imageExists(image).catch(() => false)) {
        this.#log.info("Image pull failed, using the local image", { image, error });
        state = { kind: "ready" };
      } else {
        state = {
          kind: "failed",
          error: `Image "${image}" could not be pulled (${error}) and is not present locally`,
        };
      }
    }
    this.#states.set(image, { state, at: Date.now() });
    this.#listeners.delete(image);
    this.#done(image);
  }
}
