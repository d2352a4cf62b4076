/**
 * The JWE plaintext format shared by the connector and the test processor: a JSON object of digit
 * strings, written and read as BYTES so no JS string of card data ever exists (DESIGN.md §7,
 * reliability-security.md §5):
 *
 *   {"pan":"4111…","exp":"MMYY","cvv":"NNN","postcode":"NNNNN"}     (only the fields captured, this order)
 *
 * `buildPlaintext` returns a `Buffer.alloc` the caller must wipe (`fill(0)`) right after encrypting.
 * `parsePlaintext` reads such bytes into `CapturedDigits` and never copies a digit into a string;
 * its errors name positions and keys, never values.
 */
import { secureAlloc } from '../../hw/base/secure-memory';
import { TonewallError } from '../../hw/base/errors';
import { CapturedDigits } from './captured-digits';
import { FIELD_CAPACITY, type PaymentField } from './field-rules';
import type { PaymentSecrets } from './processor-types';

const KEYS: readonly { key: string; secret: keyof PaymentSecrets; field: PaymentField }[] = [
  { key: 'pan', secret: 'cardNumber', field: 'card-number' },
  { key: 'exp', secret: 'expiry', field: 'expiry' },
  { key: 'cvv', secret: 'securityCode', field: 'security-code' },
  { key: 'postcode', secret: 'postcode', field: 'postcode' },
];

const Q = 0x22; // "
const COLON = 0x3a;
const COMMA = 0x2c;

/** The plaintext bytes for `secrets`, in a card-data arena slot (hw/base/secure-memory.ts) the caller releases with `secureRelease`. */
export function buildPlaintext(secrets: PaymentSecrets): Buffer {
  const present = KEYS.filter((k) => secrets[k.secret] !== undefined);
  if (present.length === 0) throw new TonewallError('ESECURE_PLAINTEXT', 'no captured field to encrypt; expected at least one of pan, exp, cvv, postcode');
  // {"k":"v","k":"v"} = 2 braces + per field (key + 5 quote/colon bytes + digits) + commas
  let size = 2 + (present.length - 1);
  for (const k of present) size += k.key.length + 5 + (secrets[k.secret]?.length ?? 0);
  const out = secureAlloc(size);
  let o = 0;
  out[o++] = 0x7b;
  present.forEach((k, i) => {
    if (i > 0) out[o++] = COMMA;
    out[o++] = Q;
    o += out.write(k.key, o, 'latin1');
    out[o++] = Q;
    out[o++] = COLON;
    out[o++] = Q;
    const digits = secrets[k.secret];
    if (digits) o = digits.writeAscii(out, o);
    out[o++] = Q;
  });
  out[o++] = 0x7d;
  return out;
}

/** Reads plaintext bytes into captured digits (the caller destroys them). Does not wipe `bytes`. */
export function parsePlaintext(bytes: Uint8Array): PaymentSecrets {
  const out: PaymentSecrets = {};
  const fail = (what: string, at: number): never => {
    destroyAll(out);
    throw new TonewallError('ESECURE_PLAINTEXT', `payment plaintext: ${what} at byte ${at}`);
  };
  let i = 0;
  if (bytes[i++] !== 0x7b) fail('expected {', 0);
  for (;;) {
    if (bytes[i++] !== Q) fail('expected a quoted key', i - 1);
    const keyStart = i;
    while (i < bytes.length && bytes[i] !== Q) i++;
    const spec = KEYS.find((k) => k.key.length === i - keyStart && k.key.split('').every((c, j) => bytes[keyStart + j] === c.charCodeAt(0)));
    if (!spec) fail('unknown key (expected pan, exp, cvv or postcode)', keyStart);
    const field = spec as (typeof KEYS)[number];
    if (out[field.secret]) fail(`repeated key ${field.key}`, keyStart);
    i++;
    if (bytes[i++] !== COLON || bytes[i++] !== Q) fail(`expected :" after ${field.key}`, i - 1);
    const digits = new CapturedDigits(FIELD_CAPACITY[field.field]);
    out[field.secret] = digits;
    while (i < bytes.length && bytes[i] !== Q) {
      const b = bytes[i] ?? 0;
      if (b < 48 || b > 57) fail(`non-digit in ${field.key}`, i);
      if (!digits.append(b - 48)) fail(`${field.key} longer than ${digits.capacity} digits`, i);
      i++;
    }
    if (bytes[i++] !== Q) fail(`unterminated ${field.key}`, i - 1);
    const next = bytes[i++];
    if (next === 0x7d) break;
    if (next !== COMMA) fail('expected , or }', i - 1);
  }
  if (i !== bytes.length) fail('trailing bytes', i);
  return out;
}

export function destroyAll(secrets: PaymentSecrets): void {
  secrets.cardNumber?.destroy();
  secrets.expiry?.destroy();
  secrets.securityCode?.destroy();
  secrets.postcode?.destroy();
}
