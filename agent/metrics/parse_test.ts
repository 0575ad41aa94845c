import assert from "node:assert/strict";
import { cpuPercent, cpuTimesOf, parseDf } from "./parse.ts";

Deno.test("cpu percent from os.cpus() deltas", () => {
  const t = (user: number, idle: number) => ({ times: { user, nice: 0, sys: 0, idle, irq: 0 } });
  const a = cpuTimesOf([t(100, 900), t(100, 900)]);
  const b = cpuTimesOf([t(150, 950), t(200, 900)]);
  assert.equal(cpuPercent(a, b), 75);
  assert.equal(cpuPercent(a, a), 0);
});

Deno.test("df: physical filesystems, each device once", () => {
  const text = `Filesystem     1024-blocks     Used Available Capacity Mounted on
overlay          264212084 24000000 200000000      11% /
tmpfs                65536        0     65536       0% /dev
/dev/vda         264212084 24000000 200000000      11% /etc/hosts
/dev/vda         264212084 24000000 200000000      11% /etc/hostname
/dev/sdb1          1000000   500000    500000      50% /mnt/data disk
/dev/loop0           10000    10000         0     100% /snap/core
`;
  const rows = parseDf(text);
  assert.deepEqual(rows.map((r) => r.device), ["/dev/vda", "/dev/sdb1"]);
  assert.equal(rows[1]!.mountpoint, "/mnt/data disk");
  assert.equal(rows[1]!.used, 500000 * 1024);
});
