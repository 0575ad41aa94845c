/**
 * UTC timestamps in `Date.prototype.toISOString` form without `Date`: V8's date code sets up
 * its time-zone cache (ICU) on first use even for a UTC string, and that alone made netmon's
 * resident memory 1.5-2 MiB larger (netmon stamps every event and log line). Pure arithmetic.
 *
 * @module
 */

const MS_PER_DAY = 86_400_000;
/** Days from 0000-03-01 to 1970-01-01 (the civil calendar counted from March, see below). */
const EPOCH_SHIFT_DAYS = 719_468;
/** Days in 400 Gregorian years. */
const DAYS_PER_ERA = 146_097;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * `2026-11-25T12:00:00.000Z` for `ms` milliseconds since the epoch, exactly as
 * `new Date(ms).toISOString()`. Years outside 0000-9999 (never "now") are left to `Date`.
 */
export function isoTime(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`Invalid time value: ${ms}`);
  const t = Math.trunc(ms);
  const days = Math.floor(t / MS_PER_DAY);
  const inDay = t - days * MS_PER_DAY;
  // Gregorian date of a day number, counting years from March so the leap day ends the year.
  const z = days + EPOCH_SHIFT_DAYS;
  const era = Math.floor(z / DAYS_PER_ERA);
  const doe = z - era * DAYS_PER_ERA; // day of the era, 0-146096
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  ); // year of the era, 0-399
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // from March 1
  const mp = Math.floor((5 * doy + 2) / 153); // month from March, 0-11
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return new Date(t).toISOString();
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T` +
    `${pad(Math.floor(inDay / 3_600_000), 2)}:${pad(Math.floor(inDay / 60_000) % 60, 2)}:` +
    `${pad(Math.floor(inDay / 1000) % 60, 2)}.${pad(inDay % 1000, 3)}Z`;
}

/** Now, as {@linkcode isoTime}. */
export function isoNow(): string {
  return isoTime(Date.now());
}
