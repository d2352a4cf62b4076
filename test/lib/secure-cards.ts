/**
 * Test card data for secure/ tests: the networks' published test numbers (never real cards), helpers
 * to key them as DTMF codes, and a scanner that proves a text holds none of a card's data in plain,
 * spaced, dashed, UTF-16 or JSON-array form.
 */
import assert from 'node:assert/strict';
import { codeOfDigit, KEY_HASH, KEY_STAR } from '../../controller/secure/keypad';

export const TEST_CARDS = {
  visa: '4111111111111111',
  visa13: '4222222222222',
  visaAlt: '4242424242424242',
  mastercard: '5555555555554444',
  mastercard2: '2223003122003222',
  amex: '378282246310005',
  discover: '6011111111111117',
  diners14: '36227206271667',
  jcb: '3566002020360505',
  unionpay: '6200000000000005',
  maestro: '6759649826438453',
} as const;

/** DTMF codes (0–15) for a string of keys "0-9*#" written in a test. */
export function keyCodes(keys: string): number[] {
  const out: number[] = [];
  for (const ch of keys) {
    if (ch === '*') out.push(KEY_STAR);
    else if (ch === '#') out.push(KEY_HASH);
    else if (ch >= '0' && ch <= '9') out.push(codeOfDigit(ch.charCodeAt(0) - 48));
    else if (ch !== ' ') throw new Error(`test key "${ch}" is not 0-9, * or #`);
  }
  return out;
}

/** An expiry MMYY some months after `nowMs` (UTC). */
export function futureExpiry(nowMs: number, monthsAhead = 14): string {
  const d = new Date(nowMs);
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + monthsAhead;
  const mm = String((total % 12) + 1).padStart(2, '0');
  const yy = String(Math.floor(total / 12) % 100).padStart(2, '0');
  return mm + yy;
}

function forms(value: string): string[] {
  const spaced = value.split('').join(' ');
  const dashed = value.split('').join('-');
  const jsonArray = JSON.stringify(value.split(''));
  const numArray = JSON.stringify(value.split('').map(Number));
  return [value, spaced, dashed, jsonArray, numArray, value.replace(/(\d{4})(?=\d)/g, '$1 ')];
}

/** Texts must contain none of the card number's forms; short secrets are matched as whole numbers. */
export function assertNoCardData(texts: readonly string[], secrets: { pan?: string; expiry?: string; cvv?: string }): void {
  for (const text of texts) {
    const utf16 = Buffer.from(text, 'utf16le').toString('latin1');
    if (secrets.pan) {
      for (const f of forms(secrets.pan)) {
        assert.equal(text.includes(f), false, `card number form found in: ${text.slice(0, 200)}`);
        assert.equal(utf16.includes(f), false);
      }
    }
    // A log line's own ISO timestamp is not card data, but its milliseconds can equal a CVV
    // ("…:58.837Z" against CVV 837): blank timestamps before looking for short fields.
    const untimed = text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z/g, '<time>');
    for (const short of [secrets.expiry, secrets.cvv]) {
      if (!short) continue;
      const re = new RegExp(`(?<![0-9])${short}(?![0-9])`);
      assert.equal(re.test(untimed), false, `short card field found in: ${text.slice(0, 200)}`);
      assert.equal(text.includes(JSON.stringify(short.split(''))), false);
    }
  }
}
