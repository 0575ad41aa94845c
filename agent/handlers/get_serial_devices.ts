/**
 * `get_serial_devices`: the host's serial devices in the original's shape (reference §4.9):
 * `{status:"success", devices:[{path, device_id, vendor_id, product_id, serial, manufacturer,
 * product}], count}`, an empty list when there are none. Read-only. The original answers from
 * netmon's udev cache; ours reads `/dev` and sysfs at request time (agent/serial/devices.ts), so
 * the answer never lags a plug or unplug.
 *
 * @module
 */
import type { SerialDevice } from "../../contracts/mod.ts";
import type { Handler } from "./types.ts";

/** Dependencies. */
export interface GetSerialDevicesDeps {
  /** Lists the devices (the real one: `() => readSerialDevices()` of agent/serial/devices.ts). */
  list: () => Promise<SerialDevice[]>;
}

/** Handler. */
export const getSerialDevices: Handler<"get_serial_devices", GetSerialDevicesDeps> = async (
  deps,
) => {
  const devices = await deps.list();
  return { status: "success", devices, count: devices.length };
};
