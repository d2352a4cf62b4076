/**
 * The card-data check shared by the outbox (refuse at append, so a bad event never reaches disk or
 * blocks the queue) and the MQTT publish guard (refuse at the wire). DESIGN.md §3/§7: store/ and
 * fleet/ never see card data; this scan only catches a mistake upstream.
 *
 * A JSON-compatible value is refused when
 * - any object key, normalised (lowercase, letters and digits only), is a forbidden card-data name
 *   (`pan`, `digits`, `dtmf`, `cvv`, `expiry`, `card`, …) or contains `dtmf`, `cardnumber`, `cvv`, `cvc`;
 * - any string (key or value) holds a card-like digit run (hw/base/card-guard.ts `findCardLikeRun`),
 *   except a string that is exactly a UUID (8-4-4-4-12 hex): event ids and boot ids are UUIDs, and
 *   a mostly-numeric one reads as a dash-grouped digit run (no group is longer than 12 digits,
 *   so no card number fits in one group);
 * - any number, written out, holds one — except integers in 0..9_999_999_999_999 (13 digits) under a
 *   timestamp key (`ts`, `…Ms`, `…Ts`, `…At`, `…_ms`): a 13-digit epoch-ms value is Luhn-valid one
 *   time in ten by chance and is not card data.
 */
import { findCardLikeRun, type CardLikeRun } from '../../hw/base/card-guard';

/**
 * Keys that name card data. `card` alone is not among them: in this product it is the telephony card
 * (`info.hw.card`); `cardnumber`/`cardno` and the key parts below catch the payment card.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  'pan', 'digits', 'digit', 'dtmf', 'cvv', 'cvv2', 'cvc', 'cvc2', 'cid', 'csc', 'expiry', 'expirydate', 'expdate',
  'expiration', 'cardnumber', 'cardno', 'track', 'track1', 'track2', 'trackdata', 'pin', 'pinblock',
  'securitycode',
]);
const FORBIDDEN_KEY_PARTS = ['dtmf', 'cardnumber', 'cvv', 'cvc'];
const TIMESTAMP_KEY = /^(ts|.*(Ms|Ts|At|_ms|_ts))$/;
const MAX_TIMESTAMP = 9_999_999_999_999;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export type SensitiveFinding =
  | { kind: 'forbidden-key'; path: string }
  | { kind: 'card-like-run'; path: string; run: CardLikeRun };

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function isForbiddenKey(key: string): boolean {
  const k = normaliseKey(key);
  return FORBIDDEN_KEYS.has(k) || FORBIDDEN_KEY_PARTS.some((p) => k.includes(p));
}

/**
 * Walks `value` (depth-first, keys in insertion order) and returns the first finding, or undefined.
 * `path` names where (e.g. `data.fields[2]`), never the value itself.
 */
export function findSensitive(value: unknown, path = '$'): SensitiveFinding | undefined {
  return walk(value, path, undefined);
}

function walk(value: unknown, path: string, key: string | undefined): SensitiveFinding | undefined {
  if (typeof value === 'string') {
    if (UUID.test(value)) return undefined;
    const run = findCardLikeRun(value);
    return run ? { kind: 'card-like-run', path, run } : undefined;
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (key !== undefined && TIMESTAMP_KEY.test(key) && Number.isInteger(value) && value >= 0 && value <= MAX_TIMESTAMP) {
      return undefined;
    }
    const run = findCardLikeRun(typeof value === 'bigint' ? value.toString() : numberText(value));
    return run ? { kind: 'card-like-run', path, run } : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = walk(value[i], `${path}[${i}]`, undefined);
      if (f) return f;
    }
    // Digits split one per element ([4,1,1,1,…]) are still a card number: scan the joined form.
    const singleDigits = value.length > 0 && value.every((v) => (typeof v === 'number' || typeof v === 'string') && /^[0-9]$/.test(String(v)));
    const joined = singleDigits ? value.join('') : '';
    const run = joined ? findCardLikeRun(joined) : undefined;
    return run ? { kind: 'card-like-run', path, run } : undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = `${path}.${k.length > 40 ? k.slice(0, 40) + '…' : k}`;
      if (isForbiddenKey(k)) return { kind: 'forbidden-key', path: p };
      const keyRun = findCardLikeRun(k);
      if (keyRun) return { kind: 'card-like-run', path: `${path}.<key>`, run: keyRun };
      const f = walk(v, p, k);
      if (f) return f;
    }
  }
  return undefined;
}

/** Integers without exponent notation so `4.111111111111111e15` is scanned as its digits. */
function numberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

/** A message for an error or log line: names the finding, never the value. */
export function describeFinding(f: SensitiveFinding): string {
  return f.kind === 'forbidden-key'
    ? `forbidden card-data key at ${f.path}`
    : `card-like digit run (${f.run.digits} digits, ${f.run.reason}) at ${f.path}`;
}
