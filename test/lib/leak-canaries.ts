/**
 * Canary card data for the leak test (issue #6): one unique card per payment, made up here and keyed
 * by the simulated caller, so a hit in any artifact names the payment it came from.
 *
 * - Card number: 16 digits, Luhn-valid, Visa range under the "49" prefix (the published test cards
 *   start 4111, 4222, 4242, 5555 …: no canary shares their first six digits), unique, and with a
 *   unique last four (the approved result's last four names the canary) that equals no expiry (the
 *   last four is shown to the agent by design; it must not read as a leaked expiry).
 * - Expiry MMYY: unique over the canaries, 1–19 years ahead (the field rules accept ≤ 20 years;
 *   12 × 19 = 228 values, hence the count limit).
 * - Security code: 3 digits (Visa), unique over the canaries, never a protocol code
 *   (`PROTOCOL_CODE`) nor a run of consecutive digits (`SEQUENCE`).
 * - Decoys: the same shapes, never keyed: the baseline for the chance rate of short values (docs/leak-test.md).
 *
 * These strings live only in the test process and the simulator process (the caller); the appliance
 * receives them as audio tones.
 */
import { SeededRandom } from '../../hw/sim/seeded-random';

export interface LeakCanary {
  index: number;
  pan: string;
  /** MMYY. */
  expiry: string;
  /** Security code, 3 digits. */
  cvv: string;
}

/** Check digit that makes `body` + digit Luhn-valid (ISO/IEC 7812-1 Annex B). */
export function luhnCheckDigit(body: string): number {
  let sum = 0;
  for (let i = body.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = body.charCodeAt(i) - 48;
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const FORBIDDEN_BINS = ['411111', '422222', '424242', '400000', '401288', '400005'];

/**
 * Security codes that read like codes the appliance writes by itself (Q.850 causes 1–127, SIP
 * status codes 1xx, 200, 202, 4xx–6xx) are never drawn: a standalone "102" or "486" in a log line
 * is a protocol code, and a canary equal to one could not be told from it. Nor is "000", which the
 * test processor declines by rule (cvv-mismatch). 597 values remain.
 */
const PROTOCOL_CODE = /^(000|1\d\d|20[02]|[4-6]\d\d)$/;

/**
 * Nor a run of three consecutive digits ("123", "789", "321"): source text and messages in the
 * heap write such runs (a keypad layout "1 2 3 A / 4 5 6 B", "QoS 0, 1, 2") in every form.
 */
const SEQUENCE = '0123456789 9876543210';

export interface CanarySet {
  canaries: LeakCanary[];
  /** Same shapes, never keyed anywhere: the chance baseline for the short fields. */
  decoys: LeakCanary[];
}

/**
 * `count` canaries plus `count` decoys from `seed`, all values unique across both sets.
 * `nowMs` sets the expiry range (next year onwards, so every expiry is in the future).
 */
export function makeCanaries(count: number, seed: number, nowMs: number): CanarySet {
  if (count < 1 || count > 220) throw new Error(`canary count ${count} is outside 1–220 (unique expiries run out past 228)`);
  const rng = new SeededRandom(seed);
  const pans = new Set<string>();
  const last4s = new Set<string>();
  const expiries = new Set<string>();
  const cvvs = new Set<string>();
  const thisYear = new Date(nowMs).getUTCFullYear() % 100;
  // Decoy expiries use years 21–60 ahead (never valid, same MMYY shape): canaries take the 1–19.
  const one = (index: number, decoy: boolean): LeakCanary => {
    let pan = '';
    do {
      let body = '49';
      while (body.length < 15) body += String(rng.intBetween(0, 9));
      pan = body + String(luhnCheckDigit(body));
    } while (pans.has(pan) || last4s.has(pan.slice(12)) || expiries.has(pan.slice(12)) || FORBIDDEN_BINS.includes(pan.slice(0, 6)));
    pans.add(pan);
    last4s.add(pan.slice(12));
    let expiry = '';
    do {
      const mm = rng.intBetween(1, 12);
      const yy = (thisYear + (decoy ? rng.intBetween(21, 60) : rng.intBetween(1, 19))) % 100;
      expiry = String(mm).padStart(2, '0') + String(yy).padStart(2, '0');
    } while (expiries.has(expiry) || last4s.has(expiry));
    expiries.add(expiry);
    let cvv = '';
    do cvv = String(rng.intBetween(0, 999)).padStart(3, '0');
    while (cvvs.has(cvv) || PROTOCOL_CODE.test(cvv) || SEQUENCE.includes(cvv));
    cvvs.add(cvv);
    return { index, pan, expiry, cvv };
  };
  const canaries = Array.from({ length: count }, (_, i) => one(i, false));
  const decoys = Array.from({ length: count }, (_, i) => one(i, true));
  return { canaries, decoys };
}

/** What the caller keys for one canary: the card number completes at 16 digits, expiry at 4, code at 3. */
export function canaryKeys(c: LeakCanary): string {
  return c.pan + c.expiry + c.cvv;
}
