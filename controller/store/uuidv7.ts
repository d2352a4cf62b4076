/**
 * UUID version 7 (RFC 9562 §5.7): 48-bit Unix time in ms, version 7, 74 random bits.
 * Used as the dedupe key of every outbox event: unique, and roughly time-ordered so consumers can
 * sort by it when they have nothing better.
 *
 * Layout (big-endian): unix_ts_ms(48) | ver=0111(4) | rand_a(12) | var=10(2) | rand_b(62).
 */
import { randomBytes } from 'node:crypto';
import { TonewallError } from '../../hw/base/errors';

const MAX_TS_MS = 2 ** 48 - 1;

/** Returns a lowercase 8-4-4-4-12 UUIDv7 for the given wall-clock time (ms since epoch). */
export function uuidv7(nowMs: number = Date.now(), random: (n: number) => Buffer = randomBytes): string {
  if (!Number.isInteger(nowMs) || nowMs < 0 || nowMs > MAX_TS_MS) {
    throw new TonewallError('EUUID_TIME', `uuidv7 timestamp ${nowMs} is not an integer in 0..${MAX_TS_MS} ms`);
  }
  const b = Buffer.alloc(16);
  // 48-bit timestamp: high 16 bits then low 32 bits (JS bit ops are 32-bit).
  b.writeUInt16BE(Math.floor(nowMs / 2 ** 32), 0);
  b.writeUInt32BE(nowMs % 2 ** 32, 2);
  const r = random(10);
  if (r.length < 10) throw new TonewallError('EUUID_RANDOM', `uuidv7 needs 10 random bytes, got ${r.length}`);
  r.copy(b, 6);
  b[6] = 0x70 | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuidv7(s: string): boolean {
  return UUIDV7_RE.test(s);
}

/** The ms timestamp carried by a UUIDv7. */
export function uuidv7TimeMs(s: string): number {
  if (!isUuidv7(s)) throw new TonewallError('EUUID_FORMAT', `"${s.slice(0, 40)}" is not a UUIDv7 (expected 8-4-4-4-12 hex, version 7)`);
  return parseInt(s.slice(0, 8) + s.slice(9, 13), 16);
}
