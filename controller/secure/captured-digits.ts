/**
 * `CapturedDigits`: the one type that holds captured card digits (STYLE.md "Types", DESIGN.md §7).
 *
 * Contract:
 * - Storage is one `Buffer.alloc(capacity)` (never the shared pool of allocUnsafe/from/concat), held
 *   in an ES private field so no reflection, spread or JSON walk reaches it.
 * - Each byte is a digit VALUE 0–9, not its ASCII code: even a raw memory dump of the buffer shows no
 *   digit text. Luhn, prefix and numeric checks run on the bytes.
 * - No string form exists: `toString()` and `util.inspect` give "[REDACTED n digits]", `toJSON()`
 *   throws, `valueOf()` throws. The only ways out are `writeAscii` (into a caller's Buffer.alloc
 *   request body, which the caller wipes) and `lastDigitsText(4)`/`prefixText(≤ 8)`, the PCI DSS 3.4.1
 *   display limit (BIN and last four).
 * - `wipe()` zero-fills the buffer and sets the length to 0; after `destroy()` nothing can be appended.
 * - No function outside controller/secure accepts this type.
 */
import { secureAlloc, secureRelease, secureWipe } from '../../hw/base/secure-memory';
import { inspect } from 'node:util';
import { TonewallError } from '../../hw/base/errors';

/** Longest display the PCI DSS 3.4.1 limit allows at either end (8-digit BINs, last four). */
const MAX_PREFIX_DISPLAY = 8;
const MAX_SUFFIX_DISPLAY = 4;

export class CapturedDigits {
  readonly #buf: Buffer;
  #length = 0;
  #destroyed = false;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 64) {
      throw new TonewallError('ESECURE_CAPACITY', `captured-digit capacity ${capacity} is outside 1–64`);
    }
    this.#buf = secureAlloc(capacity);
  }

  get length(): number {
    return this.#length;
  }

  get capacity(): number {
    return this.#buf.length;
  }

  get full(): boolean {
    return this.#length >= this.#buf.length;
  }

  /** Appends a digit value 0–9; returns false (nothing stored) when full or destroyed. */
  append(value: number): boolean {
    if (!Number.isInteger(value) || value < 0 || value > 9) {
      // The value is not card data when it is not a digit, so naming it is safe.
      throw new TonewallError('ESECURE_DIGIT', `digit value ${value} is outside 0–9`);
    }
    if (this.#destroyed || this.#length >= this.#buf.length) return false;
    this.#buf[this.#length++] = value;
    return true;
  }

  /** Zero-fills the storage and forgets the length. */
  wipe(): void {
    // After destroy() the storage belongs to the arena again: never touch it.
    if (this.#destroyed) return;
    secureWipe(this.#buf);
    this.#length = 0;
  }

  /** Wipes and refuses any further digits (end of session). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#length = 0;
    this.#destroyed = true;
    secureRelease(this.#buf);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Luhn (ISO/IEC 7812-1 Annex B) over the stored digits; false when empty. */
  luhnValid(): boolean {
    let sum = 0;
    let double = false;
    for (let i = this.#length - 1; i >= 0; i--) {
      let d = this.#buf[i] ?? 0;
      if (double) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      double = !double;
    }
    return this.#length > 0 && sum % 10 === 0;
  }

  /**
   * The number formed by `count` digits from `start` (e.g. the first 6 for an IIN range check, or
   * the month of an expiry). Undefined when fewer digits are stored. `count` ≤ 8 keeps it exact.
   */
  numberAt(start: number, count: number): number | undefined {
    if (count < 1 || count > 8 || start < 0 || start + count > this.#length) return undefined;
    let n = 0;
    for (let i = start; i < start + count; i++) n = n * 10 + (this.#buf[i] ?? 0);
    return n;
  }

  /** True when every stored digit is 0 (a security code of 000…). False when empty. */
  allZero(): boolean {
    if (this.#length === 0) return false;
    for (let i = 0; i < this.#length; i++) if (this.#buf[i] !== 0) return false;
    return true;
  }

  /** Writes the digits as ASCII into `target` at `offset`; returns the offset after them. */
  writeAscii(target: Buffer, offset: number): number {
    if (offset < 0 || offset + this.#length > target.length) {
      throw new TonewallError('ESECURE_TARGET', `target of ${target.length} bytes cannot take ${this.#length} digits at offset ${offset}`);
    }
    for (let i = 0; i < this.#length; i++) target[offset + i] = 48 + (this.#buf[i] ?? 0);
    return offset + this.#length;
  }

  /** The last `count` (≤ 4) digits as display text: the PCI DSS 3.4.1 limit. */
  lastDigitsText(count: number): string {
    return this.displayText(this.#length - count, count, MAX_SUFFIX_DISPLAY);
  }

  /** The first `count` (≤ 8) digits (the BIN) as display text, for policies that allow it. */
  prefixText(count: number): string {
    return this.displayText(0, count, MAX_PREFIX_DISPLAY);
  }

  toString(): string {
    return `[REDACTED ${this.#length} digits]`;
  }

  toJSON(): never {
    throw new TonewallError('ESECURE_SERIALISE', 'captured card digits cannot be serialised');
  }

  valueOf(): never {
    throw new TonewallError('ESECURE_SERIALISE', 'captured card digits have no primitive value');
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private displayText(start: number, count: number, limit: number): string {
    if (count < 1 || count > limit || start < 0 || this.#length < count) {
      throw new TonewallError('ESECURE_DISPLAY', `display of ${count} digits is outside 1–${limit} or beyond the ${this.#length} captured`);
    }
    let s = '';
    for (let i = start; i < start + count; i++) s += String.fromCharCode(48 + (this.#buf[i] ?? 0));
    return s;
  }
}
