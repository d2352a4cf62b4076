/**
 * Canary card numbers that never exist as a JS string in the test process: digits are drawn as
 * numbers, made Luhn-valid, keyed as DTMF codes, and searched for as bytes. A heap snapshot of the
 * process can then be scanned for the canary: any hit is a string some code made of card data.
 */
import { randomInt } from 'node:crypto';
import { getHeapSnapshot } from 'node:v8';
import { codeOfDigit } from '../../controller/secure/keypad';

export interface Canary {
  /** Digit values (numbers, never characters). */
  digits: number[];
  codes: number[];
}

/** A Luhn-valid 16-digit Visa-range canary. */
export function makeCanary(): Canary {
  const digits = [4];
  while (digits.length < 15) digits.push(randomInt(10));
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    // Positions counted from the right of the final 16-digit number: index 14 is doubled first.
    let d = digits[14 - i] ?? 0;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  digits.push((10 - (sum % 10)) % 10);
  return { digits, codes: digits.map(codeOfDigit) };
}

/** Byte needles for the canary: plain ASCII, space-separated, and a JSON array of numbers. */
export function canaryNeedles(c: Canary): Buffer[] {
  const plain = Buffer.alloc(c.digits.length);
  c.digits.forEach((d, i) => (plain[i] = 48 + d));
  const spaced = Buffer.alloc(c.digits.length * 2 - 1, 32);
  c.digits.forEach((d, i) => (spaced[i * 2] = 48 + d));
  const array = Buffer.alloc(c.digits.length * 2 + 1, 44);
  array[0] = 0x5b;
  c.digits.forEach((d, i) => (array[1 + i * 2] = 48 + d));
  array[array.length - 1] = 0x5d;
  return [plain, spaced, array];
}

/** Counts needle hits in a V8 heap snapshot of this process (strings are in the snapshot's JSON). */
export async function heapSnapshotHits(needles: readonly Buffer[]): Promise<number> {
  const overlap = Math.max(...needles.map((n) => n.length));
  let tail = Buffer.alloc(0);
  let hits = 0;
  for await (const chunk of getHeapSnapshot()) {
    const buf = Buffer.concat([tail, chunk as Buffer]);
    for (const n of needles) {
      let at = buf.indexOf(n);
      while (at >= 0) {
        // Only count hits that end past the carried-over tail (not already counted).
        if (at + n.length > tail.length) hits++;
        at = buf.indexOf(n, at + 1);
      }
    }
    tail = buf.subarray(Math.max(0, buf.length - overlap + 1));
  }
  return hits;
}
