import assert from "node:assert/strict";
import { readSerialDevices, serialDevicesOf } from "./devices.ts";

const NONE = {
  vendor_id: null,
  product_id: null,
  serial: null,
  manufacturer: null,
  product: null,
};

Deno.test("serialDevicesOf: only ttyUSB/ttyACM, by-id joined, numeric order, nulls", () => {
  const table: {
    name: string;
    nodes: string[];
    byId: [string, string][];
    want: { path: string; device_id: string | null }[];
  }[] = [
    { name: "none", nodes: ["ttyS0", "tty1", "console"], byId: [], want: [] },
    {
      name: "order and links",
      nodes: ["ttyUSB10", "ttyUSB2", "ttyACM0"],
      byId: [["usb-B-if00", "ttyUSB2"], ["usb-A-if00", "ttyUSB2"], ["usb-C", "ttyACM0"]],
      want: [
        { path: "/dev/ttyACM0", device_id: "/dev/serial/by-id/usb-C" },
        { path: "/dev/ttyUSB2", device_id: "/dev/serial/by-id/usb-A-if00" },
        { path: "/dev/ttyUSB10", device_id: null },
      ],
    },
  ];
  for (const t of table) {
    const got = serialDevicesOf("/dev", t.nodes, new Map(t.byId), new Map());
    assert.deepEqual(got, t.want.map((w) => ({ ...w, ...NONE })), t.name);
  }
});

const EXPECTED = (dev: string) => [
  {
    path: `${dev}/ttyACM0`,
    device_id: null,
    vendor_id: "2341",
    product_id: "0043",
    serial: null,
    manufacturer: "Arduino (www.arduino.cc)",
    product: null,
  },
  {
    path: `${dev}/ttyUSB0`,
    device_id: `${dev}/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0`,
    vendor_id: "0403",
    product_id: "6001",
    serial: "A50285BI",
    manufacturer: "FTDI",
    product: "FT232R USB UART",
  },
  { path: `${dev}/ttyUSB1`, device_id: null, ...NONE },
];

const FIXTURE = new URL("./testdata/", import.meta.url).pathname;

Deno.test("readSerialDevices: the testdata host tree, read-only", async () => {
  const root = `${FIXTURE}host`;
  const before = await snapshot(root);
  assert.deepEqual(
    await readSerialDevices({ dev: `${root}/dev`, sys: `${root}/sys` }),
    EXPECTED(`${root}/dev`),
  );
  assert.deepEqual(await snapshot(root), before, "nothing created or changed");
  assert.deepEqual(
    await readSerialDevices({ dev: `${root}/dev`, sys: `${root}/sys`, reportAs: "/dev" }),
    EXPECTED("/dev"),
    "a host /dev mounted elsewhere is reported as /dev",
  );
  const empty = `${FIXTURE}empty`;
  assert.deepEqual(await readSerialDevices({ dev: `${empty}/dev`, sys: `${empty}/sys` }), []);
  assert.deepEqual(await readSerialDevices({ dev: `${empty}/missing`, sys: `${empty}/none` }), []);
});

// The same tree copied into a temp dir (absolute roots elsewhere, /dev/serial missing first);
// needs --allow-write, which the read-only unit run does not grant.
Deno.test({
  name: "readSerialDevices: a copy in a temp dir, before and after udev made its links",
  ignore: Deno.permissions.querySync({ name: "write" }).state !== "granted",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "serial_devices_" });
    try {
      await copyTree(`${FIXTURE}host`, root);
      const byId = `${root}/dev/serial`;
      await Deno.rename(byId, `${root}/serial.away`);
      const roots = { dev: `${root}/dev`, sys: `${root}/sys` };
      const noLinks = EXPECTED(roots.dev).map((d) => ({ ...d, device_id: null }));
      assert.deepEqual(await readSerialDevices(roots), noLinks);
      await Deno.rename(`${root}/serial.away`, byId);
      assert.deepEqual(await readSerialDevices(roots), EXPECTED(roots.dev));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** Every path under `dir` with its kind and size. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      const st = await Deno.lstat(p);
      out.push(`${p} ${e.isSymlink ? "link" : e.isDirectory ? "dir" : "file"} ${st.size}`);
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** Copies a tree, symlinks as symlinks. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const [src, dst] = [`${from}/${e.name}`, `${to}/${e.name}`];
    if (e.isSymlink) await Deno.symlink(await Deno.readLink(src), dst);
    else if (e.isDirectory) await copyTree(src, dst);
    else await Deno.copyFile(src, dst);
  }
}
