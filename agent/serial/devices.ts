/**
 * The host's USB serial devices, read-only: `ttyUSB*` and `ttyACM*` nodes under `/dev`, their
 * stable links under `/dev/serial/by-id/`, and the USB attributes sysfs keeps for them
 * (`/sys/class/tty/<name>/device`, then up to the USB device holding `idVendor`). Nothing is
 * opened, created or changed. The shape is the original's `get_serial_devices` item
 * (reference §4.9).
 *
 * @module
 */
import type { SerialDevice } from "../../contracts/mod.ts";

/** Where the adapter reads (the real roots, or a temp dir in tests). */
export interface SerialRoots {
  /** Device directory, normally `/dev`. */
  dev: string;
  /** sysfs mount, normally `/sys`. */
  sys: string;
  /**
   * Device directory as the answer names it, when `dev` is a mount of the host's `/dev`
   * elsewhere (in the agent's container: `-v /dev:/host/dev:ro`, `dev: "/host/dev"`,
   * `reportAs: "/dev"`). Defaults to `dev`.
   */
  reportAs?: string;
}

/** The real roots. */
export const HOST_ROOTS: SerialRoots = { dev: "/dev", sys: "/sys" };

/** USB-serial (FTDI, CP210x, ...) and CDC-ACM nodes: the serial devices a PLC talks through. */
const SERIAL_NODE = /^tty(USB|ACM)\d+$/;

/**
 * Levels walked up from the tty's sysfs device to the USB device: ttyUSB sits two levels below
 * it (port, interface), ttyACM one (interface); 4 leaves margin without leaving the USB tree.
 */
const MAX_SYSFS_UP = 4;

/** USB attributes of one device, as sysfs names them. */
export interface UsbAttributes {
  /** `idVendor`. */
  vendor_id: string | null;
  /** `idProduct`. */
  product_id: string | null;
  /** `serial`. */
  serial: string | null;
  /** `manufacturer`. */
  manufacturer: string | null;
  /** `product`. */
  product: string | null;
}

const NO_USB: UsbAttributes = {
  vendor_id: null,
  product_id: null,
  serial: null,
  manufacturer: null,
  product: null,
};

/**
 * Joins what was read into the answer's items, sorted by path. Pure.
 *
 * @param devDir the device directory the paths start with (`/dev`)
 * @param nodes names of the device nodes (`ttyUSB0`)
 * @param byId by-id link name to the node name it resolves to
 * @param usb USB attributes per node name
 */
export function serialDevicesOf(
  devDir: string,
  nodes: string[],
  byId: Map<string, string>,
  usb: Map<string, UsbAttributes>,
): SerialDevice[] {
  const linkOf = new Map<string, string>();
  // Several links may name one node (udev makes one per interface in rare setups): the first
  // in name order is kept, so the answer does not change between calls.
  for (const [link, node] of [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!linkOf.has(node)) linkOf.set(node, `${devDir}/serial/by-id/${link}`);
  }
  return nodes.filter((n) => SERIAL_NODE.test(n)).sort(byNodeOrder).map((node) => ({
    path: `${devDir}/${node}`,
    device_id: linkOf.get(node) ?? null,
    ...(usb.get(node) ?? NO_USB),
  }));
}

/** ttyACM before ttyUSB, then by number (ttyUSB2 before ttyUSB10). */
function byNodeOrder(a: string, b: string): number {
  const [, ka = "", na = "0"] = /^(\D+)(\d+)$/.exec(a) ?? [];
  const [, kb = "", nb = "0"] = /^(\D+)(\d+)$/.exec(b) ?? [];
  return ka === kb ? Number(na) - Number(nb) : ka < kb ? -1 : 1;
}

async function readAttr(dir: string, name: string): Promise<string | null> {
  try {
    const text = (await Deno.readTextFile(`${dir}/${name}`)).trim();
    return text === "" ? null : text;
  } catch {
    return null;
  }
}

async function usbAttributes(sysReal: string, node: string): Promise<UsbAttributes> {
  let dir: string;
  try {
    dir = await Deno.realPath(`${sysReal}/class/tty/${node}/device`);
  } catch {
    return NO_USB;
  }
  // Never above sysfs: the walk stops at the USB device or after MAX_SYSFS_UP levels.
  for (let i = 0; i <= MAX_SYSFS_UP && dir.startsWith(`${sysReal}/`); i++) {
    const vendor = await readAttr(dir, "idVendor");
    if (vendor !== null) {
      return {
        vendor_id: vendor,
        product_id: await readAttr(dir, "idProduct"),
        serial: await readAttr(dir, "serial"),
        manufacturer: await readAttr(dir, "manufacturer"),
        product: await readAttr(dir, "product"),
      };
    }
    dir = dir.slice(0, dir.lastIndexOf("/"));
  }
  return NO_USB;
}

async function listDir(path: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(path)) out.push(e);
  } catch (err) {
    // No such directory: no device of that kind (no USB serial plugged in, or no udev). Deno
    // grants a listing of /dev only with --allow-all (it is not given): nothing from there.
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotCapable)) throw err;
  }
  return out;
}

/**
 * Lists the host's serial devices (read-only; needs read access to `roots.dev` and
 * `roots.sys`). An empty list when there are none.
 */
export async function readSerialDevices(roots: SerialRoots = HOST_ROOTS): Promise<SerialDevice[]> {
  // The nodes come from sysfs (every tty the kernel has is in /sys/class/tty) as well as from
  // the /dev listing, which Deno grants only with --allow-all.
  const nodes = [
    ...new Set([
      ...(await listDir(roots.dev)).map((e) => e.name),
      ...(await listDir(`${roots.sys}/class/tty`)).map((e) => e.name),
    ]),
  ].filter((n) => SERIAL_NODE.test(n)).sort();
  const byId = new Map<string, string>();
  for (const e of await listDir(`${roots.dev}/serial/by-id`)) {
    try {
      const target = await Deno.readLink(`${roots.dev}/serial/by-id/${e.name}`);
      byId.set(e.name, target.slice(target.lastIndexOf("/") + 1));
    } catch { /* not a link: udev writes only links here */ }
  }
  const usb = new Map<string, UsbAttributes>();
  if (nodes.length > 0) {
    const sysReal = await Deno.realPath(roots.sys).catch(() => null);
    for (const node of nodes) {
      usb.set(node, sysReal === null ? NO_USB : await usbAttributes(sysReal, node));
    }
  }
  return serialDevicesOf(roots.reportAs ?? roots.dev, nodes, byId, usb);
}
