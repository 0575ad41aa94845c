/**
 * Runtimes on a real Docker engine with real MACVLAN parents (veth pairs, peers in namespaces the
 * test owns): the three seed examples, network sharing, pool-overlap reuse, and failures that
 * must leave nothing behind. Needs root and a Docker engine.
 */
import assert from "node:assert/strict";
import { type CreateNewRuntime, type RuntimeVnicsFile, TOPICS } from "../contracts/mod.ts";
import type { DockerPort } from "../agent/docker/port.ts";
import { createNewRuntime } from "../agent/handlers/create_new_runtime.ts";
import { deleteDevice } from "../agent/handlers/delete_device.ts";
import { getDeviceStatus } from "../agent/handlers/get_device_status.ts";
import { ULIMIT_WARNING } from "../agent/reconcile/executor.ts";
import {
  addressesInside,
  createAndWait,
  createMacvlanByHand,
  engineCanRaiseLimits,
  ensureStandin,
  freeNets,
  linksInside,
  makeManager,
  makeParent,
  type Parent,
  realPort,
  sh,
  skipReason,
  stopManagers,
  sweep,
  TEST_LABELS,
} from "./docker_helpers.ts";
import { eventually } from "./fault_common.ts";

const skip = await skipReason();
/** Host-side ranges: /24s that overlap no route or needed address (tests/README.md). */
const [NA, NB, NC] = await freeNets(3);
if (skip) console.log(`docker_runtimes_test skipped: ${skip}`);
const opts = { ignore: skip !== null, sanitizeOps: false, sanitizeResources: false };

const A = "eo5a";
const B = "eo5b";
const NET_A = `macvlan_${A}_${NA}.0_24`;
const NET_B = `macvlan_${B}_${NB}.0_24`;

/** Messages go through the contracts like the dispatcher does (both spellings accepted). */
function msg(name: string, vnics: unknown[], version = "latest"): CreateNewRuntime {
  return TOPICS.create_new_runtime.request.parse({
    container_name: name,
    vnic_configs: vnics,
    runtime_version: version,
  });
}

async function withLab(
  fn: (p: { a: Parent; b: Parent; dir: string; docker: DockerPort }) => Promise<void>,
) {
  const docker = realPort();
  await ensureStandin();
  await sweep(docker);
  const dir = await Deno.makeTempDir({ prefix: "eo-docker-" });
  const a = await makeParent(A, `${NA}.250/24`, `${NA}.0/24`);
  const b = await makeParent(B, `${NB}.250/24`, `${NB}.0/24`);
  try {
    await fn({ a, b, dir, docker });
  } finally {
    await stopManagers();
    await sweep(docker);
    await a.remove();
    await b.remove();
    await Deno.remove(dir, { recursive: true });
  }
}

async function readVnics(dir: string): Promise<RuntimeVnicsFile> {
  return JSON.parse(await Deno.readTextFile(`${dir}/runtime_vnics.json`));
}

Deno.test(
  "seed examples: DHCP, manual with MAC and DNS, two vNICs on two parents",
  opts,
  () =>
    withLab(async ({ a, b, dir, docker }) => {
      const m = await makeManager(dir, [a, b]);
      const ack = await createNewRuntime(
        m,
        msg("plc-dhcp", [
          { name: "eth0", parent_interface: A, network_mode: "dhcp" },
        ]),
      );
      assert.deepEqual(ack, {
        status: "creating",
        container_id: "plc-dhcp",
        message: "Container creation started for plc-dhcp",
      });
      await m.settle();
      await createAndWait(
        m,
        msg("plc-manual", [{
          name: "eth0",
          parent_interface: A,
          network_mode: "static",
          ip: `${NA}.42/24`,
          gateway: `${NA}.1`,
          mac: "02:AA:BB:CC:DD:01",
          dns: [`${NA}.53`, `${NC}.53`],
        }]),
      );
      await createAndWait(
        m,
        msg("plc-two", [
          {
            name: "eth0",
            parent_interface: A,
            network_mode: "manual",
            ip_address: `${NA}.43`,
            subnet: "255.255.255.0",
            mac_address: "02:aa:bb:cc:dd:02",
          },
          {
            name: "eth1",
            parent_interface: B,
            network_mode: "dhcp",
            parent_subnet: `${NB}.0/24`,
            parent_gateway: `${NB}.1`,
          },
        ]),
      );

      // Networks: one internal bridge per runtime, one MACVLAN per parent, shared.
      for (const n of ["plc-dhcp", "plc-manual", "plc-two"]) {
        const net = await docker.inspectNetwork(`${n}_internal`);
        assert.ok(net, `${n}_internal exists`);
        assert.equal(net.driver, "bridge");
        assert.equal(net.internal, true);
        assert.equal(net.labels["io.edge-orchestrator.runtime"], n);
      }
      const netA = await docker.inspectNetwork(NET_A);
      assert.equal(netA?.driver, "macvlan");
      assert.equal(netA?.options.parent, A);
      assert.deepEqual(netA?.subnets.map((s) => s.subnet), [`${NA}.0/24`]);
      assert.equal(netA?.containers.length, 3);
      const netB = await docker.inspectNetwork(NET_B);
      assert.deepEqual(netB?.subnets, [{ subnet: `${NB}.0/24`, gateway: `${NB}.1` }]);

      // Container: restart policy, caps, ulimits, DNS, IPs and MACs seen inside its namespace.
      const manual = (await docker.inspectContainer("plc-manual"))!;
      assert.equal(manual.restartPolicy, "always");
      assert.deepEqual(manual.capAdd.map((c) => c.replace(/^CAP_/, "")).sort(), [
        "MKNOD",
        "SYS_NICE",
      ]);
      if (await engineCanRaiseLimits()) {
        assert.deepEqual(manual.ulimits, [
          { name: "rtprio", soft: 99, hard: 99 },
          { name: "memlock", soft: -1, hard: -1 },
        ]);
      } else {
        // This VM's engine lacks CAP_SYS_RESOURCE: the runtime runs without them and says so.
        assert.deepEqual(manual.ulimits, []);
        assert.deepEqual((await m.status("plc-manual")).warnings, [ULIMIT_WARNING]);
      }
      assert.deepEqual(manual.dns, [`${NA}.53`, `${NC}.53`]);
      assert.equal(manual.networks[NET_A]?.ipv4, `${NA}.42`);
      assert.equal(manual.networks[NET_A]?.mac, "02:aa:bb:cc:dd:01");
      assert.ok(
        (await linksInside(manual.pid)) &&
          Object.values(await linksInside(manual.pid)).includes("02:aa:bb:cc:dd:01"),
      );
      assert.ok((await addressesInside(manual.pid)).includes(`${NA}.42`));
      const resolv = await sh("nsenter", "-t", String(manual.pid), "-m", "cat", "/etc/resolv.conf");
      assert.ok(resolv.includes(`${NA}.53`), resolv);

      const two = (await docker.inspectContainer("plc-two"))!;
      const inside = Object.values(await linksInside(two.pid));
      assert.ok(inside.includes("02:aa:bb:cc:dd:02"));
      const stored = await readVnics(dir);
      const genMac = stored["plc-two"]![1]!.mac_address;
      assert.ok(inside.includes(genMac), "generated MAC is the one inside");
      assert.equal(parseInt(genMac.slice(0, 2), 16) & 3, 2, "locally administered unicast");
      assert.equal(two.networks[NET_B]?.mac, genMac);
      // eth1 is a DHCP vNIC and no DHCP server is on LAN B: Docker's IPAM address is removed and
      // none is invented; the client keeps asking (tests/docker_dhcp_agent_test.ts has a server).
      await eventually(async () => {
        assert.ok(!(await addressesInside(two.pid)).some((ip) => ip.startsWith(`${NB}.`)));
      }, 10_000);

      // runtime_vnics.json: canonical form plus MAC and network.
      assert.deepEqual(stored["plc-manual"], [{
        name: "eth0",
        parent_interface: A,
        network_mode: "manual",
        ip_address: `${NA}.42`,
        subnet: `${NA}.0/24`,
        gateway: `${NA}.1`,
        dns: [`${NA}.53`, `${NC}.53`],
        mac_address: "02:aa:bb:cc:dd:01",
        docker_network_name: NET_A,
      }]);
      assert.equal(stored["plc-dhcp"]![0]!.docker_network_name, NET_A);
      assert.deepEqual(Object.keys(stored).sort(), ["plc-dhcp", "plc-manual", "plc-two"]);

      // get_device_status reports them.
      const st = await getDeviceStatus(m, { device_id: "plc-two" });
      assert.equal(st.status, "success");
      assert.equal(st.is_running, true);
      assert.equal(st.container_status, "running");
      const nets = st.networks as Record<string, { ip_address: string; mac_address: string }>;
      assert.deepEqual(Object.keys(nets).sort(), [NET_A, NET_B]);
      assert.equal(nets[NET_A]!.ip_address, `${NA}.43`);
      assert.equal(nets[NET_B]!.mac_address, genMac);
      assert.equal(nets[NET_B]!.ip_address, null, "no lease: no address reported");
      assert.deepEqual(
        (nets[NET_B] as unknown as { dhcp: { state: string } }).dhcp.state,
        "waiting for offer",
      );
      assert.equal(st.internal_ip, two.networks["plc-two_internal"]?.ipv4);
      assert.equal(st.internal_ip, m.internalIp("plc-two"));

      // Deleting: the shared MACVLAN stays while another runtime uses it, goes with the last.
      await deleteDevice(m, { device_id: "plc-two" });
      await m.settle();
      assert.equal((await m.status("plc-two")).status, "not_found");
      assert.equal(await docker.inspectNetwork("plc-two_internal"), null);
      assert.equal(await docker.inspectNetwork(NET_B), null, "B had only plc-two");
      assert.ok(await docker.inspectNetwork(NET_A), "A still used");
      m.delete("plc-dhcp");
      await m.settle();
      assert.ok(await docker.inspectNetwork(NET_A), "A still used by plc-manual");
      m.delete("plc-manual");
      await m.settle();
      assert.equal(await docker.inspectNetwork(NET_A), null, "last user gone");
      assert.deepEqual(await readVnics(dir), {});
      // Deleting an unknown id ends as not_found.
      m.delete("ghost");
      await m.settle();
      assert.equal((await m.status("ghost")).status, "not_found");
    }),
);

Deno.test(
  "pool overlap: an existing MACVLAN network of the same parent/subnet is reused",
  opts,
  () =>
    withLab(async ({ a, dir, docker }) => {
      await createMacvlanByHand("userlan", A, `${NA}.0/24`);
      const m = await makeManager(dir, [a]);
      const st = await createAndWait(
        m,
        msg("plc-reuse", [{ name: "eth0", parent_interface: A, network_mode: "dhcp" }]),
      );
      assert.equal(st.status, "success", JSON.stringify(st));
      assert.deepEqual(Object.keys(st.networks as object), ["userlan"]);
      assert.equal(await docker.inspectNetwork(NET_A), null);
      assert.equal((await readVnics(dir))["plc-reuse"]![0]!.docker_network_name, "userlan");
      // Another subnet on the same parent is refused clearly.
      const st2 = await createAndWait(
        m,
        msg("plc-other", [{
          name: "eth0",
          parent_interface: A,
          network_mode: "dhcp",
          parent_subnet: `${NC}.0/24`,
        }]),
      );
      assert.equal(st2.status, "error");
      assert.match(
        String(st2.error),
        /parent interface "eo5a" is already used by MACVLAN network "userlan".*one MACVLAN network per parent/,
      );
      assert.equal(await docker.inspectContainer("plc-other"), null);
      assert.equal(await docker.inspectNetwork("plc-other_internal"), null);
      // The user's network is never removed by us.
      m.delete("plc-reuse");
      await m.settle();
      assert.ok(await docker.inspectNetwork("userlan"));
    }),
);

async function nothingLeft(docker: DockerPort, name: string) {
  assert.equal(await docker.inspectContainer(name), null, "no container");
  assert.equal(await docker.inspectNetwork(`${name}_internal`), null, "no internal network");
  assert.equal(await docker.inspectNetwork(NET_A), null, "no MACVLAN network");
  assert.deepEqual((await docker.listNetworks({ labels: TEST_LABELS })).map((n) => n.name), []);
}

Deno.test(
  "failures in the middle leave nothing behind and a precise status",
  opts,
  () =>
    withLab(async ({ a, dir, docker }) => {
      const vnic = { name: "eth0", parent_interface: A, network_mode: "dhcp" };
      const m = await makeManager(dir, [a], docker, "edge-orchestrator/no-such-image:latest");
      let st = await createAndWait(m, msg("plc-bad", [vnic]));
      assert.equal(st.status, "error");
      assert.equal(st.step, "pulling_image");
      assert.match(
        String(st.error),
        /Image "edge-orchestrator\/no-such-image:latest" could not be pulled .* and is not present locally/,
      );
      await nothingLeft(docker, "plc-bad");

      const m2 = await makeManager(dir, [a]);
      st = await createAndWait(
        m2,
        msg("plc-bad", [{ ...vnic, network_mode: "manual", ip_address: `${NB}.9` }]),
      );
      assert.equal(st.status, "error");
      assert.ok(
        String(st.error).includes(`${NB}.9 is outside the subnet ${NA}.0/24`),
        String(st.error),
      );
      await nothingLeft(docker, "plc-bad");

      // MAC clash with another runtime on the same parent.
      st = await createAndWait(m2, msg("plc-one", [{ ...vnic, mac_address: "02:00:00:00:00:aa" }]));
      assert.equal(st.status, "success");
      st = await createAndWait(m2, msg("plc-bad", [{ ...vnic, mac_address: "02:00:00:00:00:aa" }]));
      assert.equal(st.status, "error");
      assert.match(
        String(st.error),
        /02:00:00:00:00:aa is already used on parent interface "eo5a" by "plc-one"/,
      );
      assert.equal(await docker.inspectContainer("plc-bad"), null);
      assert.ok(await docker.inspectNetwork(NET_A), "shared network of plc-one kept");
      m2.delete("plc-one");
      await m2.settle();

      // A Docker error injected through the port at start: the rollback removes all it made.
      const failing: DockerPort = {
        ...docker,
        startContainer: () => Promise.reject(new Error("injected: start failed")),
      };
      const m3 = await makeManager(dir, [a], failing);
      st = await createAndWait(m3, msg("plc-bad", [vnic]));
      assert.equal(st.status, "error");
      assert.equal(st.step, "starting_container");
      assert.equal(st.error, "injected: start failed");
      await nothingLeft(docker, "plc-bad");
      // The error clears on the next operation.
      m2.create(msg("plc-bad", [vnic]));
      assert.equal((await m2.status("plc-bad")).status, "creating");
      await m2.settle();
      assert.equal((await m2.status("plc-bad")).status, "success");
    }),
);
