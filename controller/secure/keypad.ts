/**
 * DTMF key codes as the masking engine delivers them (controller/dsp: `code` = row × 4 + column,
 * 0–15, the index into "123A456B789C*0#D"), mapped to what a payment field does with them. Digits are
 * never characters here: a key is a small integer and a digit is its value 0–9.
 */
export type KeyInput = { kind: 'digit'; value: number } | { kind: 'star' } | { kind: 'hash' } | { kind: 'letter' };

/** code → digit value, or -1 (star), -2 (hash), -3 (letters A–D). Layout: 1 2 3 A / 4 5 6 B / 7 8 9 C / * 0 # D. */
const CODE_TO_VALUE: readonly number[] = [1, 2, 3, -3, 4, 5, 6, -3, 7, 8, 9, -3, -1, 0, -2, -3];

export const KEY_STAR = 12;
export const KEY_HASH = 14;

/** Decodes a key code; undefined for anything outside 0–15 (counted by the caller, never thrown). */
export function keyOfCode(code: number): KeyInput | undefined {
  if (!Number.isInteger(code) || code < 0 || code > 15) return undefined;
  const v = CODE_TO_VALUE[code] ?? -3;
  if (v >= 0) return { kind: 'digit', value: v };
  if (v === -1) return { kind: 'star' };
  if (v === -2) return { kind: 'hash' };
  return { kind: 'letter' };
}

/** The key code of a digit value 0–9 (for simulators and tests that key digits). */
export function codeOfDigit(value: number): number {
  const code = CODE_TO_VALUE.indexOf(value);
  return code;
}
