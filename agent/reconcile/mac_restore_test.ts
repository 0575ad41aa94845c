import assert from "node:assert/strict";
import { type NamespacePort, parseIpLinks, restoreMac } from "./mac_restore.ts";

Deno.test("parseIpLinks reads ip -o link output", () => {
  const text = [
    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
    "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0",
    "3: eth1@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP \\    link/ether 02:aa:bb:cc:dd:ee brd ff:ff:ff:ff:ff:ff",
  ].join("\n");
  assert.deepEqual(parseIpLinks(text), [
    { name: "eth0", mac: "02:42:ac:11:00:02" },
    { name: "eth1", mac: "02:aa:bb:cc:dd:ee" },
  ]);
});

function fakeNs(links: { name: string; mac: string }[]): NamespacePort & { sets: number } {
  const port = {
    sets: 0,
    links: () => Promise.resolve(links.map((l) => ({ ...l }))),
    setMac(_pid: number, name: string, mac: string) {
      port.sets++;
      const link = links.find((l) => l.name === name)!;
      link.mac = mac;
      return Promise.resolve({ ...link });
    },
  };
  return port;
}

Deno.test("restoreMac sets the wanted MAC on the link Docker gave, and verifies", async () => {
  const ns = fakeNs([{ name: "eth0", mac: "02:42:ac:11:00:02" }, {
    name: "eth1",
    mac: "02:42:cb:00:71:05",
  }]);
  assert.equal(await restoreMac(ns, 1, "02:42:CB:00:71:05", "02:00:00:00:00:01"), "eth1");
  assert.equal(ns.sets, 1);
  assert.equal(await restoreMac(ns, 1, "02:42:cb:00:71:05", "02:00:00:00:00:01"), "eth1");
  assert.equal(ns.sets, 1, "already right: nothing touched");
});

Deno.test("restoreMac fails clearly when no link has the endpoint's MAC", async () => {
  const ns = fakeNs([{ name: "eth0", mac: "02:42:ac:11:00:02" }]);
  await assert.rejects(
    () => restoreMac(ns, 7, "02:42:cb:00:71:05", "02:00:00:00:00:01"),
    /no link has/,
  );
});
