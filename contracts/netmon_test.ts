import assert from "node:assert/strict";
import {
  NETMON_COMMANDS,
  NetmonCommand,
  NetmonEvent,
  NetmonOriginalEvent,
  NetmonPlainReply,
  NetmonReply,
} from "./mod.ts";

const V1 = new URL("./testdata/netmon_v1/", import.meta.url);
const NOW = new URL("./schema/", import.meta.url);

type Schema = Record<string, unknown>;

function types(s: Schema): Set<string> {
  const t = s.type;
  return new Set(Array.isArray(t) ? t : t === undefined ? [] : [t as string]);
}

/**
 * Walks the first published JSON Schema (v1) beside the current one and lists every way the
 * current one could reject a line v1 accepted or lose a field v1 had: a property dropped, a
 * property newly required, a type, enum value or constant narrowed, a union branch dropped.
 */
function narrowings(v1: Schema, now: Schema, path: string): string[] {
  const out: string[] = [];
  for (const t of types(v1)) if (!types(now).has(t)) out.push(`${path}: type ${t} dropped`);
  if (Array.isArray(v1.enum)) {
    const kept = new Set((now.enum as unknown[] | undefined) ?? [now.const]);
    for (const e of v1.enum) if (!kept.has(e)) out.push(`${path}: enum value ${e} dropped`);
  }
  if ("const" in v1 && now.const !== v1.const && !(now.enum as unknown[])?.includes(v1.const)) {
    out.push(`${path}: const ${v1.const} changed`);
  }
  const props1 = (v1.properties ?? {}) as Record<string, Schema>;
  const propsNow = (now.properties ?? {}) as Record<string, Schema>;
  for (const [k, sub] of Object.entries(props1)) {
    if (!propsNow[k]) out.push(`${path}.${k}: dropped`);
    else out.push(...narrowings(sub, propsNow[k], `${path}.${k}`));
  }
  const req1 = new Set((v1.required ?? []) as string[]);
  for (const r of (now.required ?? []) as string[]) {
    if (!req1.has(r)) out.push(`${path}.${r}: newly required`);
  }
  for (const key of ["oneOf", "anyOf", "prefixItems"] as const) {
    const a = (v1[key] ?? []) as Schema[];
    const b = (now[key] ?? []) as Schema[];
    a.forEach((branch, i) => {
      if (!b[i]) out.push(`${path}.${key}[${i}]: dropped`);
      else out.push(...narrowings(branch, b[i], `${path}.${key}[${i}]`));
    });
  }
  if (v1.items && typeof v1.items === "object") {
    if (!now.items) out.push(`${path}[]: items dropped`);
    else out.push(...narrowings(v1.items as Schema, now.items as Schema, `${path}[]`));
  }
  return out;
}

Deno.test("netmon schemas only grew since v1 (fields added, never dropped or narrowed)", async () => {
  for (const file of ["netmon_event.json", "netmon_command.json", "netmon_reply.json"]) {
    const v1 = JSON.parse(await Deno.readTextFile(new URL(file, V1)));
    const now = JSON.parse(await Deno.readTextFile(new URL(file, NOW)));
    assert.deepEqual(narrowings(v1, now, file.replace(".json", "")), [], file);
  }
});

Deno.test("the compatibility walk notices a dropped or narrowed field", () => {
  const v1 = {
    type: "object",
    properties: { a: { type: "string", enum: ["x", "y"] }, b: { type: "string" } },
    required: ["a"],
  };
  const now = {
    type: "object",
    properties: { a: { type: "string", enum: ["x"] } },
    required: ["a", "c"],
  };
  assert.deepEqual(narrowings(v1, now, "t"), [
    "t.a: enum value y dropped",
    "t.b: dropped",
    "t.c: newly required",
  ]);
});

Deno.test("lines valid under v1 still parse", () => {
  const iface = {
    interface: "ens37",
    index: 3,
    operstate: "UP",
    type: "ethernet",
    mac_address: "02:00:00:00:00:01",
    ipv4_addresses: [{
      address: "198.51.100.5",
      prefixlen: 24,
      subnet: "198.51.100.0/24",
      network_address: "198.51.100.0",
    }],
    gateway: null,
    timestamp: "2026-11-25T12:00:00.000Z",
  };
  NetmonEvent.parse({ type: "network_discovery", data: { interfaces: [iface], timestamp: "t" } });
  NetmonEvent.parse({ type: "network_change", data: iface });
  NetmonCommand.parse({ command: "get_status" });
  NetmonCommand.parse({ command: "resync" });
  NetmonReply.parse({ type: "reply", command: "get_status", status: "ok", data: {} });
  NetmonReply.parse({ type: "reply", command: null, status: "error", error: "not JSON" });
});

Deno.test("the original netmon's shapes (reference §9.2, §9.3) parse", () => {
  // IFACE without mac_address: the original (pyroute2) netmon never sends one.
  NetmonEvent.parse({
    type: "network_change",
    data: {
      interface: "eth0",
      index: 2,
      operstate: "UP",
      type: "ethernet",
      ipv4_addresses: [],
      gateway: null,
      timestamp: "2026-04-09T10:00:00.123456",
    },
  });
  NetmonOriginalEvent.parse({ type: "device_discovery", data: { devices: [], timestamp: "t" } });
  NetmonOriginalEvent.parse({
    type: "dhcp_update",
    data: { container_name: "plc1", vnic_name: "eth1", ip: "192.0.2.20", mac_address: "x" },
  });
  NetmonPlainReply.parse({ success: true, status: { running: true } });
  assert.ok(!NetmonPlainReply.safeParse({ type: "reply", success: true }).success);
  assert.ok(!NetmonPlainReply.safeParse({ error: "x" }).success);
});

Deno.test("NETMON_COMMANDS is the schema's list", () => {
  for (const c of NETMON_COMMANDS) assert.ok(NetmonCommand.safeParse({ command: c }).success);
  assert.ok(!NetmonCommand.safeParse({ command: "start_dhcp" }).success);
  assert.ok(!NetmonCommand.safeParse({ command: "get_status", id: "x".repeat(65) }).success);
});
