/**
 * MAC addresses for vNICs without one: locally administered (bit 1 of the first octet set),
 * unicast (bit 0 clear), random, and never one already in use on the same parent. Generated once,
 * then persisted with the vNIC and kept forever.
 *
 * @module
 */

/** Source of random bytes (injected so tests are deterministic). */
export type RandomBytes = (n: number) => Uint8Array;

/** Cryptographic randomness. */
export const cryptoRandom: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

// 48 random bits minus 2 fixed ones: a clash with `used` is astronomically rare, but we retry a
// bounded number of times so a broken random source fails loudly instead of looping.
const MAX_TRIES = 16;

/** A locally administered unicast MAC, lower case with colons, not in `used`. */
export function generateMac(random: RandomBytes, used: ReadonlySet<string> = new Set()): string {
  for (let i = 0; i < MAX_TRIES; i++) {
    const b = random(6);
    b[0] = (b[0]! & 0xfc) | 0x02;
    const mac = [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
    if (!used.has(mac)) return mac;
  }
  throw new RangeError(`Cannot generate a MAC address: ${MAX_TRIES} candidates were all in use`);
}

/** Whether a MAC is locally administered and unicast. */
export function isLocalUnicast(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 0x03) === 0x02;
}
