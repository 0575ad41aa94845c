/**
 * A LAN with a real DHCP server for the DHCP tests: a namespace holding a bridge (the LAN), the
 * router address and busybox udhcpd; "runtimes" are namespaces held by a sleeping process, joined
 * to the bridge by a veth whose inner end (`eth1`) has the vNIC's MAC and a Docker-like IPAM
 * address. Everything lives in namespaces the test owns; names and the /24 are random.
 *
 * @module
 */

const BB = "/bin/busybox";

/** Runs a command; returns stdout, throws with stderr on failure. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Why the DHCP tests cannot run here, or null. */
export function dhcpSkipReason(): string | null {
  try {
    Deno.statSync(BB);
    return null;
  } catch {
    return "no /bin/busybox (apt-get install busybox-static)";
  }
}

/** The p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))]!;
}

/** A fake runtime: a namespace with `eth1` on the LAN. */
export interface FakeRuntime {
  ns: string;
  pid: number;
  mac: string;
  ifname: string;
  ipam: string;
  addresses(): Promise<string[]>;
  defaultRoute(): Promise<string>;
  /** The udhcpc running in this runtime's namespace, or null. */
  clientPid(): Promise<number | null>;
  destroy(): Promise<void>;
}

/** Pids of udhcpc processes whose network namespace is that of `pid`. */
export async function clientsIn(pid: number): Promise<number[]> {
  // Deno reads /proc/<pid> only with --allow-all: a shell does it.
  const out = await sh(
    "sh",
    "-c",
    `ns=$(readlink /proc/${pid}/ns/net) || exit 0
for p in $(pgrep -f 'busybox udhcpc'); do
  [ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$ns" ] && echo $p
done; true`,
  ).catch(() => "");
  return out.split("\n").filter(Boolean).map(Number);
}

/** The LAN namespace with its server. */
export class DhcpLan {
  readonly leaseS: number;
  readonly reservedMac: string;
  /** udhcpd's ARP check of an offered address (its default is 2000 ms). */
  readonly serverArpMs = 100;
  serverMac = "";
  #server: Deno.ChildProcess | null = null;
  #log = "";
  #n = 0;
  readonly #runtimes: FakeRuntime[] = [];

  private constructor(
    readonly id: string,
    /** The LAN's first three octets; {@linkcode DhcpLan.move} changes it. */
    public net: string,
    readonly dir: string,
    leaseS: number,
  ) {
    this.leaseS = leaseS;
    this.reservedMac = `02:5e:${id.slice(0, 2)}:${id.slice(2, 4)}:00:77`;
  }

  get router(): string {
    return `${this.net}.1`;
  }
  get dns(): string[] {
    return [`${this.net}.53`, `${this.net}.54`];
  }
  get reservedIp(): string {
    return `${this.net}.77`;
  }
  get freeIp(): string {
    return `${this.net}.240`;
  }

  get ns(): string {
    return `eodl${this.id}`;
  }

  /** A LAN with a bridge, the router address and (unless `server` is false) udhcpd: on `net`
   * (three octets) when given (a range that reaches the host, from scripts/free_range.ts), else
   * on a random `10.<r>.<r>.0/24` (it lives only in namespaces of the test). */
  static async create(
    opts: { leaseS: number; server?: boolean; net?: string },
  ): Promise<DhcpLan> {
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
    const net = opts.net ??
      `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
    const dir = await Deno.makeTempDir({ prefix: "eo-lan-" });
    const lan = new DhcpLan(id, net, dir, opts.leaseS);
    await sh("ip", "netns", "add", lan.ns);
    await sh("ip", "-n", lan.ns, "link", "set", "lo", "up");
    // A fixed MAC: a bridge otherwise takes its lowest port's, which changes as runtimes join.
    await sh(
      "ip",
      "-n",
      lan.ns,
      "link",
      "add",
      "br0",
      "address",
      `02:5f:${id.slice(0, 2)}:${id.slice(2, 4)}:${id.slice(4, 6)}:01`,
      "type",
      "bridge",
    );
    await sh("ip", "-n", lan.ns, "addr", "add", `${lan.router}/24`, "dev", "br0");
    await sh("ip", "-n", lan.ns, "link", "set", "br0", "up");
    lan.serverMac = (await sh("ip", "netns", "exec", lan.ns, "cat", "/sys/class/net/br0/address"))
      .trim();
    await lan.#writeConf();
    if (opts.server !== false) await lan.startServer();
    return lan;
  }

  /** udhcpd's configuration for the current range, with an empty lease table. */
  async #writeConf(): Promise<void> {
    await Deno.writeTextFile(`${this.dir}/leases`, "");
    await Deno.writeTextFile(
      `${this.dir}/udhcpd.conf`,
      [
        `start ${this.net}.100`,
        `end ${this.net}.150`,
        "interface br0",
        `lease_file ${this.dir}/leases`,
        `pidfile ${this.dir}/udhcpd.pid`,
        // The lease table is written every second, so a test can read it.
        "auto_time 1",
        // Short leases for renewal and expiry tests (udhcpd's floor is min_lease).
        "min_lease 5",
        `option lease ${this.leaseS}`,
        "option subnet 255.255.255.0",
        `option router ${this.router}`,
        `option dns ${this.dns.join(" ")}`,
        `static_lease ${this.reservedMac} ${this.reservedIp}`,
        "",
      ].join("\n"),
    );
  }

  /** The server and router move to `net` (three octets): a new lease table, since the old
   * range's leases are void there. */
  async move(net: string): Promise<void> {
    const running = this.#server !== null;
    await this.stopServer();
    await sh("ip", "-n", this.ns, "addr", "flush", "dev", "br0");
    this.net = net;
    await sh("ip", "-n", this.ns, "addr", "add", `${this.router}/24`, "dev", "br0");
    await this.#writeConf();
    if (running) await this.startServer();
  }

  /** Adds a bridge port in the LAN namespace for an interface living elsewhere (Docker tests). */
  async bridgePort(name: string): Promise<void> {
    await sh("ip", "-n", this.ns, "link", "set", name, "master", "br0");
    await sh("ip", "-n", this.ns, "link", "set", name, "up");
  }

  inPool(ip: string): boolean {
    const last = Number(ip.split(".")[3]);
    return ip.startsWith(`${this.net}.`) && last >= 100 && last <= 150;
  }

  async startServer(): Promise<void> {
    this.#server = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        this.ns,
        BB,
        "udhcpd",
        "-f",
        "-a",
        String(this.serverArpMs),
        `${this.dir}/udhcpd.conf`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) this.#log += t;
    };
    void collect(this.#server.stdout);
    void collect(this.#server.stderr);
    await new Promise((r) => setTimeout(r, 200));
  }

  async stopServer(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    try {
      s.kill("SIGTERM");
    } catch { /* gone */ }
    await s.status;
  }

  serverLog(): string {
    return this.#log;
  }

  /** `dumpleases` of the server's table. */
  async leaseTable(): Promise<string> {
    return await sh(BB, "dumpleases", "-f", `${this.dir}/leases`).catch(() => "");
  }

  /** A fake runtime with `mac`; `replacing` is torn down first as Docker does at a stop (its link
   * deleted), leaving any client in its old namespace for the supervisor to notice. */
  async runtime(mac: string, replacing?: FakeRuntime): Promise<FakeRuntime> {
    if (replacing) await replacing.destroy();
    const n = this.#n++;
    const ns = `eodr${this.id}${n}`;
    const peer = `p${this.id}${n}`;
    const ipam = `${this.net}.${2 + n}`;
    await sh("ip", "netns", "add", ns);
    await sh(
      "ip",
      "link",
      "add",
      peer,
      "netns",
      this.ns,
      "type",
      "veth",
      "peer",
      "name",
      "eth1",
      "netns",
      ns,
    );
    await sh("ip", "-n", ns, "link", "set", "eth1", "address", mac);
    await sh("ip", "-n", ns, "addr", "add", `${ipam}/24`, "dev", "eth1");
    await sh("ip", "-n", ns, "link", "set", "eth1", "up");
    await sh("ip", "-n", ns, "link", "set", "lo", "up");
    await this.bridgePort(peer);
    const sleeper = new Deno.Command("ip", {
      args: ["netns", "exec", ns, "sleep", "3600"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    // `ip netns exec` execs sleep once the namespace is entered; until then /proc/<pid>/ns is not
    // readable (permission denied) and the process is not yet in the runtime's namespace.
    await sh(
      "sh",
      "-c",
      `for i in $(seq 200); do grep -q '^sleep' /proc/${sleeper.pid}/cmdline && exit 0; sleep 0.01; done`,
    );
    const rt: FakeRuntime = {
      ns,
      pid: sleeper.pid,
      mac,
      ifname: "eth1",
      ipam,
      async addresses() {
        const out = await sh("ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth1").catch(() =>
          ""
        );
        return [...out.matchAll(/inet (\S+)/g)].map((m) => m[1]!);
      },
      defaultRoute: () => sh("ip", "-n", ns, "route", "show", "default"),
      async clientPid() {
        return (await clientsIn(rt.pid))[0] ?? null;
      },
      async destroy() {
        await sh("ip", "-n", ns, "link", "del", "eth1").catch(() => {});
        try {
          sleeper.kill("SIGKILL");
        } catch { /* gone */ }
        await sleeper.status;
        await sh("ip", "netns", "del", ns).catch(() => {});
      },
    };
    this.#runtimes.push(rt);
    return rt;
  }

  async destroy(): Promise<void> {
    for (const r of this.#runtimes) {
      for (const p of await clientsIn(r.pid).catch(() => [])) {
        await sh("kill", "-9", String(p)).catch(() => {});
      }
      await r.destroy();
    }
    await this.stopServer();
    await sh("ip", "netns", "del", this.ns).catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
