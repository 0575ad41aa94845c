/**
 * One busybox udhcpc per DHCP vNIC, run in the runtime's network namespace, supervised.
 *
 * Files under `<stateDir>/dhcp/<runtime>/<vnic-hex>.*` are the truth, so a restarted agent
 * (kill -9 included) adopts the clients still running and restarts the others from the persisted
 * lease:
 * - `.client`: JSON {pid, netns, ifindex, ifname, mac} of the running client (its command line
 *   carries the vNIC's MAC in the client id, which tells a reused pid apart);
 * - `.lease`: the last lease granted (written by the script at bound/renew);
 * - `.event`: the last script call; `.bound`: pid of the client holding the address;
 * - `.released`: the lease was released (stop/delete) and nothing bound since.
 *
 * The reconciler calls {@linkcode DhcpSupervisor.ensure} for a running runtime after every start
 * and pass (idempotent, one `nsenter` when all is well), {@linkcode DhcpSupervisor.stop} before
 * stopping it, {@linkcode DhcpSupervisor.release} before removing it, and
 * {@linkcode DhcpSupervisor.prune} with the runtimes that exist after a restart.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { atomicWrite } from "../state/atomic_write.ts";
import { type Inspection, inspectScript, linkByMac, parseInspect } from "./iface.ts";
import type { NsLink } from "./iface.ts";
import {
  isIpv4,
  type Lease,
  leaseOf,
  leaseTimes,
  type LeaseView,
  leaseView,
  parseEvent,
  planPrepare,
  renderResolvConf,
} from "./lease.ts";
import type { NetnsRunner, ResolvPort, SpawnedProcess } from "./ports.ts";
import { udhcpcScript } from "./udhcpc_script.ts";

/** A DHCP vNIC of a runtime. */
export interface DhcpVnic {
  name: string;
  /** The MAC its interface carries in the runtime's namespace (found by it). */
  mac: string;
  /** Option 12; the runtime's name. */
  hostname: string;
  /** The vNIC's own DNS servers: when given, the lease's DNS is reported but not written. */
  dns?: string[];
  /** Address to ask for when no lease is on file (e.g. the persisted `dhcp_ip`). */
  requested_ip?: string;
}

/** Outcome of {@linkcode DhcpSupervisor.ensure} for one vNIC. */
export interface EnsureResult {
  vnic: string;
  /** "running" (already fine), "started", or "failed" (retried by the supervisor). */
  outcome: "running" | "started" | "failed";
  error?: string;
  interface?: string;
  /** Docker's IPAM addresses removed now, and when (epoch ms). */
  removed?: string[];
  removed_at?: number;
  /** The still-valid lease put back before the client started (INIT-REBOOT). */
  kept_ip?: string;
}

/** Dependencies. */
export interface DhcpSupervisorDeps {
  stateDir: string;
  runner: NetnsRunner;
  resolv: ResolvPort;
  log: Logger;
  busybox?: string;
  now?: () => number;
}

interface ClientFile {
  pid: number;
  netns: string;
  ifindex: number;
  ifname: string;
  mac: string;
}

interface VnicRec {
  spec: DhcpVnic;
  stem: string;
  metric: number;
  client: ClientFile | null;
  spawned: SpawnedProcess | null;
  lease: Lease | null;
  /** The address of `lease` was removed (lost at expiry or NAK) and nothing bound since. */
  lost: boolean;
  released: boolean;
  lastState: string;
  nudgedFor: number;
  failures: number;
  retryAt: number;
  lastEvent: string;
  /** Next liveness check of a client a previous agent started. */
  adoptedCheckAt: number;
  /** The client we spawned has ended. */
  clientEnded: boolean;
}

interface RuntimeRec {
  pid: number;
  vnics: Map<string, VnicRec>;
  staticDns: string[];
}

/** Supervision period: a dead client is noticed within this (the original netmon used 2 s). */
export const TICK_MS = 1_000;
/** Retry after a failed start, doubling per failure: a missing interface (MAC not restored yet)
 * usually appears within a second; 30 s caps the noise when it never does. */
export const RETRY_MIN_MS = 1_000;
export const RETRY_MAX_MS = 30_000;
/** Wait for the client's release (SIGUSR2 then its deconfig) before killing it: DHCPRELEASE is
 * one UDP packet and the script takes a few ms. */
export const RELEASE_WAIT_MS = 1_000;
/** First route metric; vNIC i gets BASE + i so several DHCP vNICs keep their own routes. */
export const METRIC_BASE = 100;
/** Liveness check period of clients a previous agent started (ours report their exit at once);
 * each check is one short shell. */
export const ADOPTED_CHECK_MS = 5_000;

/** Lease states per vNIC name, with callbacks on every change. */
export class DhcpSupervisor {
  readonly #d: Required<DhcpSupervisorDeps>;
  readonly #dir: string;
  readonly #script: string;
  readonly #runtimes = new Map<string, RuntimeRec>();
  readonly #listeners = new Set<(runtime: string, vnic: string, view: LeaseView) => void>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #watcher: Deno.FsWatcher | null = null;
  #closed = false;

  constructor(deps: DhcpSupervisorDeps) {
    this.#d = { busybox: "/bin/busybox", now: Date.now, ...deps };
    this.#dir = `${deps.stateDir}/dhcp`;
    this.#script = `${this.#dir}/udhcpc_event.sh`;
  }

  /** Writes the script and starts watching event files; the supervision tick runs while a runtime
   * is supervised. */
  async start(): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    await atomicWrite(this.#script, udhcpcScript(this.#d.busybox));
    await Deno.chmod(this.#script, 0o755);
    this.#watcher = Deno.watchFs(this.#dir, { recursive: true });
    this.#watch(this.#watcher);
  }

  /** Runs the supervision tick while there is a runtime to supervise: an agent whose last DHCP
   * runtime is gone does not wake every second for nothing (issue 15's idle CPU). */
  #arm(): void {
    if (this.#timer === undefined && !this.#closed) {
      this.#timer = setInterval(() => void this.#tick(), TICK_MS);
    }
  }

  /** Stops watching; the clients keep running (and keep their leases) for the next agent. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      this.#watcher?.close();
    } catch { /* closed */ }
  }

  /** Whether the supervision tick is armed (it stops within a tick of the last runtime's
   * release or stop). */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  /** Registers a callback for lease state changes; returns its removal. */
  onChange(cb: (runtime: string, vnic: string, view: LeaseView) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** The runtime's vNICs are on another LAN now (a subnet move): their leases no longer hold
   * there. Reported as lost at once (the status must not show the old LAN's address on the new
   * network while the re-wire's next pass restarts the clients). */
  moved(runtime: string): void {
    for (const v of this.#runtimes.get(runtime)?.vnics.values() ?? []) {
      if (!v.lease || v.lost) continue;
      v.lost = true;
      this.#emitIfChanged(runtime, v);
    }
  }

  /** The lease of each supervised vNIC of `runtime`, now. */
  leases(runtime: string): Record<string, LeaseView> {
    const out: Record<string, LeaseView> = {};
    for (const [name, v] of this.#runtimes.get(runtime)?.vnics ?? []) out[name] = this.#view(v);
    return out;
  }

  /**
   * Makes sure each DHCP vNIC of a running runtime has its client in the namespace of `pid`:
   * adopts a live one, else removes Docker's IPAM address, puts back a still-valid lease and
   * starts one. vNICs no longer listed are released. Also (re)writes the resolver configuration.
   */
  ensure(
    runtime: string,
    pid: number,
    vnics: DhcpVnic[],
    opts: { staticDns?: string[] } = {},
  ): Promise<EnsureResult[]> {
    checkRuntimeName(runtime);
    return this.#locked(runtime, async () => {
      let rt = this.#runtimes.get(runtime);
      if (!rt) {
        rt = { pid, vnics: new Map(), staticDns: [] };
        this.#runtimes.set(runtime, rt);
        this.#arm();
      }
      rt.pid = pid;
      rt.staticDns = opts.staticDns ?? [];
      for (const [name, v] of rt.vnics) {
        if (!vnics.some((s) => s.name === name)) {
          await this.#releaseVnic(v);
          rt.vnics.delete(name);
        }
      }
      const pids = [...rt.vnics.values()].flatMap((v) => v.client ? [v.client.pid] : []);
      for (const spec of vnics) {
        const c = await readJson<ClientFile>(`${this.#dir}/${runtime}/${hex(spec.name)}.client`);
        if (c) pids.push(c.pid);
      }
      const links = await this.#inspect(pid, pids).catch((e) => e as Error);
      const results: EnsureResult[] = [];
      for (const [i, spec] of vnics.entries()) {
        let v = rt.vnics.get(spec.name);
        if (!v) {
          v = await this.#load(runtime, spec, METRIC_BASE + i);
          rt.vnics.set(spec.name, v);
        }
        v.spec = spec;
        if (links instanceof Error) {
          results.push(this.#failed(v, links.message));
          continue;
        }
        results.push(await this.#ensureVnic(runtime, rt, v, links));
      }
      await this.#writeResolver(rt).catch((e) =>
        this.#d.log.warn("dhcp: cannot write resolv.conf", { runtime, error: String(e) })
      );
      return results;
    });
  }

  /** Releases the leases (DHCPRELEASE) and ends the clients; call before stopping the runtime.
   * The lease stays on file, so the next start asks for the same address. Resolves once every
   * DHCPRELEASE has left; the clients' exits (their deconfig script: 15-40 ms here) follow, see
   * {@linkcode DhcpSupervisor.idle}. */
  stop(runtime: string): Promise<void> {
    return this.#releaseRuntime(runtime, false);
  }

  /** Releases and forgets everything of `runtime`; call before removing it. Like `stop`, resolves
   * once the releases have left; the clients' exits and the removal of its files follow. */
  release(runtime: string): Promise<void> {
    return this.#releaseRuntime(runtime, true);
  }

  /** `stop` (files kept) and `release` (`forget`: its files removed once the clients ended). */
  #releaseRuntime(runtime: string, forget: boolean): Promise<void> {
    return this.#lockedTail(runtime, async () => {
      const rt = this.#runtimes.get(runtime);
      const exits: Promise<unknown>[] = [];
      for (const v of rt?.vnics.values() ?? []) await this.#releaseVnic(v, exits);
      this.#runtimes.delete(runtime);
      const dir = `${this.#dir}/${runtime}`;
      if (forget) return { tail: Promise.all(exits).then(() => this.#reapDir(dir, true)) };
      // Clients of a previous agent that this one never ensured.
      await this.#reapDir(dir, false);
      return { tail: Promise.all(exits) };
    });
  }

  /** Resolves when nothing of `runtime` is in progress any more (after a stop or release: its
   * clients have ended and, after a release, its files are gone). */
  async idle(runtime: string): Promise<void> {
    await (this.#locks.get(runtime) ?? Promise.resolve());
  }

  /** Releases and forgets every runtime on file that is not in `keep` (deleted while the agent
   * was down). */
  async prune(keep: Iterable<string>): Promise<void> {
    const set = new Set(keep);
    for await (const e of Deno.readDir(this.#dir)) {
      if (e.isDirectory && !set.has(e.name)) await this.release(e.name);
    }
  }

  // --- per vNIC ---------------------------------------------------------------------------

  async #load(runtime: string, spec: DhcpVnic, metric: number): Promise<VnicRec> {
    const stem = `${this.#dir}/${runtime}/${hex(spec.name)}`;
    await Deno.mkdir(`${this.#dir}/${runtime}`, { recursive: true });
    const v: VnicRec = {
      spec,
      stem,
      metric,
      client: await readJson<ClientFile>(`${stem}.client`),
      spawned: null,
      lease: await readLease(`${stem}.lease`),
      lost: false,
      released: await exists(`${stem}.released`),
      lastState: "",
      nudgedFor: 0,
      failures: 0,
      retryAt: 0,
      lastEvent: "",
      adoptedCheckAt: 0,
      clientEnded: false,
    };
    v.lastEvent = await Deno.readTextFile(`${stem}.event`).catch(() => "");
    const ev = await readEvent(`${stem}.event`);
    if (ev && ev.lost && v.lease && ev.at >= v.lease.bound_at) v.lost = true;
    v.lastState = this.#view(v).state;
    return v;
  }

  async #ensureVnic(
    runtime: string,
    rt: RuntimeRec,
    v: VnicRec,
    ins: Inspection,
  ): Promise<EnsureResult> {
    const link = linkByMac(ins.links, v.spec.mac);
    if (!link) {
      return this.#failed(
        v,
        `Interface with MAC ${v.spec.mac} not found in the runtime's namespace`,
      );
    }
    const netns = ins.netns;
    if (this.#clientHealthy(v, ins, link)) {
      v.failures = 0;
      return { vnic: v.spec.name, outcome: "running", interface: link.name };
    }
    await this.#killClient(v, "SIGTERM");
    const now = this.#d.now();
    const plan = planPrepare(link.addrs, v.lost ? null : v.lease, now);
    // Removals first: deleting a primary address also deletes the secondaries of its subnet
    // (promote_secondaries is off by default and /proc/sys is read-only in the agent's container).
    const cmds = plan.remove.map((a) => `"$0" ip addr del ${a.ip}/${a.prefix} dev "$1"`);
    if (plan.apply) {
      cmds.push(`"$0" ip addr replace ${plan.apply.ip}/${plan.apply.prefix} dev "$1"`);
    }
    cmds.push(`"$0" ip link set dev "$1" up`);
    if (plan.apply?.gateway) {
      cmds.push(
        `"$0" ip route replace default via ${plan.apply.gateway} dev "$1" metric ${v.metric}`,
      );
    }
    try {
      await this.#d.runner.run(rt.pid, [
        this.#d.busybox,
        "sh",
        "-c",
        cmds.join(" && "),
        this.#d.busybox,
        link.name,
      ]);
    } catch (e) {
      return this.#failed(v, (e as Error).message);
    }
    const removedAt = this.#d.now();
    const requested = plan.apply?.ip ??
      (v.spec.requested_ip && isIpv4(v.spec.requested_ip) ? v.spec.requested_ip : undefined);
    const env: Record<string, string> = {
      EO_BB: this.#d.busybox,
      EO_STEM: v.stem,
      EO_METRIC: String(v.metric),
    };
    if (plan.apply) {
      env.EO_KEEP_IP = `${plan.apply.ip}/${plan.apply.prefix}`;
      env.EO_KEEP_UNTIL = String(Math.floor(leaseTimes(plan.apply).expiry / 1000));
    }
    await Deno.remove(`${v.stem}.released`).catch(() => {});
    await Deno.remove(`${v.stem}.bound`).catch(() => {});
    v.released = false;
    // A lease not put back (expired, or from the subnet before a move) is not on the interface.
    if (!plan.apply && v.lease) v.lost = true;
    const argv = udhcpcArgv(this.#d.busybox, this.#script, link.name, v.spec, requested);
    let child: SpawnedProcess;
    try {
      child = this.#d.runner.spawn(rt.pid, argv, env);
    } catch (e) {
      return this.#failed(v, (e as Error).message);
    }
    v.spawned = child;
    v.clientEnded = false;
    v.client = {
      pid: child.pid,
      netns,
      ifindex: link.index,
      ifname: link.name,
      mac: v.spec.mac,
    };
    await atomicWrite(`${v.stem}.client`, JSON.stringify(v.client));
    child.status.then((code) => {
      if (v.spawned === child) {
        v.spawned = null;
        v.clientEnded = true;
        this.#d.log.warn("dhcp: client ended", { runtime, vnic: v.spec.name, code });
      }
    });
    v.failures = 0;
    this.#d.log.info("dhcp: client started", {
      runtime,
      vnic: v.spec.name,
      interface: link.name,
      requested: requested ?? "",
    });
    this.#emitIfChanged(runtime, v);
    return {
      vnic: v.spec.name,
      outcome: "started",
      interface: link.name,
      removed: plan.remove.map((a) => `${a.ip}/${a.prefix}`),
      removed_at: removedAt,
      ...(plan.apply ? { kept_ip: plan.apply.ip } : {}),
    };
  }

  #failed(v: VnicRec, error: string): EnsureResult {
    v.failures++;
    v.retryAt = this.#d.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (v.failures - 1));
    return { vnic: v.spec.name, outcome: "failed", error };
  }

  #clientHealthy(v: VnicRec, ins: Inspection, link: NsLink): boolean {
    const c = v.client;
    if (!c || c.netns !== ins.netns || c.ifindex !== link.index || c.mac !== v.spec.mac) {
      return false;
    }
    return isOurClient(ins.procs.get(c.pid), c);
  }

  /** Whether a client still runs (one shell in our own namespace reads /proc for us). */
  async #alive(c: ClientFile): Promise<boolean> {
    const ins = await this.#inspect(Deno.pid, [c.pid]).catch(() => null);
    return isOurClient(ins?.procs.get(c.pid), c);
  }

  /** With `exits`, the wait for our own child's end is pushed there instead of awaited. */
  async #killClient(v: VnicRec, signal: Deno.Signal, exits?: Promise<unknown>[]): Promise<void> {
    const c = v.client;
    v.client = null;
    const spawned = v.spawned;
    v.spawned = null;
    await Deno.remove(`${v.stem}.client`).catch(() => {});
    if (!c) return;
    // Our own child, not yet ended, needs no liveness check (one `nsenter` less per stop/delete).
    const own = spawned && spawned.pid === c.pid ? spawned : null;
    if (!own && !(await this.#alive(c))) return;
    await this.#signalClient(own, c.pid, signal);
    if (!own) return;
    const ended = Promise.race([own.status, sleep(RELEASE_WAIT_MS)]);
    if (exits) exits.push(ended);
    else await ended;
  }

  /** Signals a client: our own child directly, one a previous agent left through `#signal`. */
  async #signalClient(own: SpawnedProcess | null, pid: number, signal: Deno.Signal): Promise<void> {
    if (!own) return await this.#signal(pid, signal);
    try {
      own.kill(signal);
    } catch { /* ended meanwhile */ }
  }

  /** Signals a process we did not spawn (a previous agent's client): Deno.kill needs an
   * unscoped --allow-run, nsenter is already allowed. */
  async #signal(pid: number, signal: Deno.Signal): Promise<void> {
    await this.#d.runner.run(pid, [
      this.#d.busybox,
      "kill",
      "-s",
      signal.replace("SIG", ""),
      String(pid),
    ])
      .catch(() => {});
  }

  /** DHCPRELEASE (awaited: it must leave before the interface goes), then the client's end (into
   * `exits` when given: the runtime may be stopped while it exits). */
  async #releaseVnic(v: VnicRec, exits?: Promise<unknown>[]): Promise<void> {
    const c = v.client;
    const own = c && v.spawned?.pid === c.pid ? v.spawned : null;
    if (c && (own || await this.#alive(c))) {
      await this.#signalClient(own, c.pid, "SIGUSR2");
      const until = this.#d.now() + RELEASE_WAIT_MS;
      while (this.#d.now() < until && await exists(`${v.stem}.bound`)) await sleep(20);
    }
    await this.#killClient(v, "SIGTERM", exits);
    await Deno.writeTextFile(`${v.stem}.released`, "").catch(() => {});
    v.released = true;
  }

  /** Ends clients listed under `dir` (not known in memory) and optionally removes the dir. */
  async #reapDir(dir: string, remove: boolean): Promise<void> {
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.name.endsWith(".client")) continue;
        const c = await readJson<ClientFile>(`${dir}/${e.name}`);
        if (c && await this.#alive(c)) {
          await this.#signal(c.pid, "SIGUSR2");
          await sleep(100);
          await this.#signal(c.pid, "SIGTERM");
        }
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
      }
    } catch { /* no dir */ }
    if (remove) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  async #inspect(pid: number, clientPids: number[]): Promise<Inspection> {
    const bb = this.#d.busybox;
    const argv = [bb, "sh", "-c", inspectScript(bb), bb, ...clientPids.map(String)];
    const ins = parseInspect(await this.#d.runner.run(pid, argv));
    if (!ins.netns) throw new Error(`Cannot inspect the namespace of pid ${pid}: no answer`);
    return ins;
  }

  // --- events, supervision ----------------------------------------------------------------

  async #watch(w: Deno.FsWatcher): Promise<void> {
    try {
      for await (const e of w) {
        for (const p of e.paths) if (p.endsWith(".event")) await this.#onEventFile(p);
      }
    } catch (e) {
      if (!this.#closed) this.#d.log.warn("dhcp: event watch ended", { error: String(e) });
    }
  }

  async #onEventFile(path: string): Promise<void> {
    for (const [runtime, rt] of this.#runtimes) {
      for (const v of rt.vnics.values()) {
        if (`${v.stem}.event` === path) return await this.#refresh(runtime, rt, v);
      }
    }
  }

  /** Reads the vNIC's event file and applies it when it is new (called on a file event, and on
   * each tick in case the watch missed one). */
  async #refresh(runtime: string, rt: RuntimeRec, v: VnicRec): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(`${v.stem}.event`);
    } catch {
      return;
    }
    if (text === v.lastEvent) return;
    v.lastEvent = text;
    let ev;
    try {
      ev = parseEvent(text);
    } catch {
      return; // torn or foreign: keep the last good state
    }
    if (v.client && ev.client_pid !== v.client.pid) return; // a previous client's last words
    const lease = leaseOf(ev);
    if (lease) {
      v.lease = lease;
      v.lost = false;
      v.released = false;
      await this.#writeResolver(rt).catch(() => {});
    } else if (ev.lost) {
      v.lost = true;
    }
    this.#emitIfChanged(runtime, v);
  }

  async #tick(): Promise<void> {
    if (this.#runtimes.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = this.#d.now();
    for (const [runtime, rt] of this.#runtimes) {
      for (const v of rt.vnics.values()) {
        await this.#refresh(runtime, rt, v);
        // Renew at T1: udhcpc 1.35 sends its first renewal at about 3/4 of the lease (measured),
        // SIGUSR1 asks it at T1 as RFC 2131 says; its own timers stay as the fallback.
        const view = this.#view(v);
        if (view.state === "renewing" && v.lease && v.nudgedFor !== v.lease.bound_at && v.client) {
          v.nudgedFor = v.lease.bound_at;
          await this.#signal(v.client.pid, "SIGUSR1");
        }
        if (view.state === "expired" && v.lastState !== "expired" && v.lease && v.client) {
          // The script removes the address when its client loses a lease it bound; a lease put
          // back at restart and never confirmed is removed here.
          await this.#d.runner.run(rt.pid, [
            this.#d.busybox,
            "ip",
            "addr",
            "del",
            `${v.lease.ip}/${v.lease.prefix}`,
            "dev",
            v.client.ifname,
          ]).catch(() => {});
        }
        this.#emitIfChanged(runtime, v);
        // A client we spawned reports its end through its status; one a previous agent left is
        // checked every ADOPTED_CHECK_MS (a shell reads /proc for us: Deno may not).
        let dead = v.client === null || (v.spawned === null && v.adoptedCheckAt <= now &&
          !(await this.#alive(v.client)));
        if (v.spawned === null && v.client && v.adoptedCheckAt <= now) {
          v.adoptedCheckAt = now + ADOPTED_CHECK_MS;
        }
        if (v.client && v.spawned === null && v.clientEnded) dead = true;
        if (dead && !v.released && now >= v.retryAt && !this.#closed) {
          void this.#locked(runtime, async () => {
            if (this.#runtimes.get(runtime) !== rt) return;
            // Decided outside the lock: an ensure may have started a client meanwhile (its
            // client was null only while the old one was being ended). Check again here.
            if (v.released || (v.client !== null && !v.clientEnded && v.spawned !== null)) return;
            const links = await this.#inspect(rt.pid, v.client ? [v.client.pid] : []).catch((e) =>
              e as Error
            );
            const r = links instanceof Error
              ? this.#failed(v, links.message)
              : await this.#ensureVnic(runtime, rt, v, links);
            if (r.outcome === "failed") {
              this.#d.log.warn("dhcp: cannot restart client", {
                runtime,
                vnic: v.spec.name,
                error: r.error ?? "",
              });
            }
          });
        }
      }
    }
  }

  #view(v: VnicRec): LeaseView {
    return leaseView({ lease: v.lease, lost: v.lost, released: v.released, now: this.#d.now() });
  }

  #emitIfChanged(runtime: string, v: VnicRec): void {
    const view = this.#view(v);
    const key = `${view.state}|${view.ip ?? ""}|${view.expires_at ?? ""}`;
    if (key === v.lastState) return;
    v.lastState = key;
    for (const cb of this.#listeners) {
      try {
        cb(runtime, v.spec.name, view);
      } catch (e) {
        this.#d.log.warn("dhcp: change listener failed", { error: String(e) });
      }
    }
  }

  async #writeResolver(rt: RuntimeRec): Promise<void> {
    const now = this.#d.now();
    const leases = [...rt.vnics.values()]
      .filter((v) => !(v.spec.dns && v.spec.dns.length > 0) && !v.lost && v.lease)
      .map((v) => v.lease!)
      .filter((l) => now < leaseTimes(l).expiry);
    const current = await this.#d.resolv.read(rt.pid);
    if (current === null) return;
    const next = renderResolvConf(current, rt.staticDns, leases);
    if (next !== null && next !== current) await this.#d.resolv.write(rt.pid, next);
  }

  /** Like `#locked`, but `fn` answers with a tail: the caller goes on when `fn` resolves, the
   * runtime's lock is held until the tail has settled too (a stop's DHCPRELEASE is sent before
   * it returns; the clients' exits, 15-40 ms here, no longer delay the Docker stop that follows,
   * and no ensure of the same runtime starts before they ended). */
  #lockedTail(key: string, fn: () => Promise<{ tail: Promise<unknown> }>): Promise<void> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const head = prev.then(fn, fn);
    this.#locks.set(key, head.then((h) => h.tail).catch(() => {}));
    return head.then(() => {});
  }

  #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#locks.set(key, next.catch(() => {}));
    return next;
  }
}

/** udhcpc's command line for a vNIC. Pure. */
export function udhcpcArgv(
  busybox: string,
  script: string,
  iface: string,
  spec: DhcpVnic,
  requested?: string,
): string[] {
  const mac = spec.mac.toLowerCase().replaceAll(":", "");
  return [
    busybox,
    "udhcpc",
    "-f", // foreground: the supervisor owns the process
    "-i",
    iface,
    "-s",
    script,
    // 3 DISCOVERs 2 s apart, then a 4 s pause: a returning server is found within ~10 s while a
    // silent LAN sees one broadcast every ~3 s per vNIC.
    "-t",
    "3",
    "-T",
    "2",
    "-A",
    "4",
    // ARP-check an offered address for 200 ms before taking it (RFC 2131 §2.2 SHOULD).
    "-a200",
    "-x",
    `hostname:${spec.hostname}`,
    // Client id (option 61) type 1 + the vNIC's persisted MAC: stable across restarts and
    // re-wires, and what a reservation by MAC matches.
    "-x",
    `0x3d:01${mac}`,
    "-O",
    "staticroutes",
    "-O",
    "mtu",
    ...(requested ? ["-r", requested] : []),
  ];
}

/** Docker's container name rule; it keeps paths under the state dir. */
function checkRuntimeName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw new TypeError(`Cannot supervise DHCP for "${name}": not a container name`);
  }
}

function hex(s: string): string {
  return [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return null;
  }
}

async function readEvent(path: string) {
  try {
    return parseEvent(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}

async function readLease(path: string): Promise<Lease | null> {
  const ev = await readEvent(path);
  return ev ? leaseOf(ev) : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a process seen in /proc is the udhcpc of this client file (pid reuse told apart by the
 * vNIC's MAC in the client id on its command line). Pure. */
export function isOurClient(p: { cmdline: string } | undefined, c: { mac: string }): boolean {
  const id = `0x3d:01${c.mac.toLowerCase().replaceAll(":", "")}`;
  return p !== undefined && p.cmdline.includes("udhcpc") && p.cmdline.includes(id);
}
