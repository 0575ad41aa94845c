import assert from "node:assert/strict";
import { isoNow, isoTime } from "./iso_time.ts";

Deno.test("isoTime is Date's toISOString: calendar edges, before 1970, fractions, years 0-9999", () => {
  const edges = [
    0,
    -1,
    1,
    951_782_400_000, // 2000-02-29, a leap day of a year divisible by 400
    951_868_799_999, // its last millisecond
    4_107_542_400_000, // 2100-03-01, after the 28-day February of a year divisible by 100
    Date.UTC(1969, 11, 31, 23, 59, 59, 999),
    Date.UTC(1900, 1, 28, 23, 59, 59, 999), // 1900 is no leap year
    Date.UTC(1600, 1, 29),
    -62_167_219_200_000, // 0000-01-01T00:00:00.000Z
    253_402_300_799_999, // 9999-12-31T23:59:59.999Z
    1_733_000_000_123.9, // fractions are cut, as Date cuts them
  ];
  for (const ms of edges) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  // Every day over four centuries (each leap rule), at a time of day that moves each step.
  for (let ms = -62_167_219_200_000; ms < 253_402_300_799_999; ms += 86_400_000 * 97 + 3_723_457) {
    assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
});

Deno.test("isoTime leaves years outside 0000-9999 to Date, and refuses what Date refuses", () => {
  for (const ms of [-62_167_219_200_001, 253_402_300_800_000, 8.64e15, -8.64e15]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
  for (const ms of [NaN, Infinity, 8.64e15 + 1]) {
    assert.throws(() => isoTime(ms), RangeError);
  }
});

Deno.test("isoNow is now", () => {
  const before = Date.now();
  const now = Date.parse(isoNow());
  assert.ok(now >= before && now <= Date.now());
});
