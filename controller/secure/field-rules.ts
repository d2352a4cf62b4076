/**
 * Validation of each payment field, as pure functions of the captured digits (DESIGN.md §2 step 3–4):
 *
 * | field          | completes by itself when                                   | rejected with reason            |
 * |----------------|------------------------------------------------------------|---------------------------------|
 * | card-number    | brand's usual length and Luhn-valid, or brand's max length | unknown-brand, brand-not-accepted, length, luhn |
 * | expiry (MMYY)  | 4 digits, month 01–12, not before this month, ≤ 20 years on | length, month, expired, too-far |
 * | security-code  | the brand's length (Amex 4, others 3); 4 when no brand     | length                          |
 * | postcode       | the configured fixed length, or 10 digits                  | length (3–10 with the end key)  |
 *
 * `final` is true when the caller pressed the end key: the entry is judged as it stands.
 * Reasons may appear before completion (an unknown brand after the first digits, month 13) so the
 * agent sees them early; the field is only rejected at its end.
 */
import type { Clock } from '../../hw/base/clock';
import type { CapturedDigits } from './captured-digits';
import { detectBrand, type BrandRule, type CardBrand } from './card-brands';

export const PAYMENT_FIELDS = ['card-number', 'expiry', 'security-code', 'postcode'] as const;
export type PaymentField = (typeof PAYMENT_FIELDS)[number];

export type FieldReason =
  | 'unknown-brand'
  | 'brand-not-accepted'
  | 'length'
  | 'luhn'
  | 'month'
  | 'expired'
  | 'too-far'
  | 'empty';

/** Digits each field can hold (the capture buffer's capacity). */
export const FIELD_CAPACITY: Readonly<Record<PaymentField, number>> = {
  'card-number': 19,
  expiry: 4,
  'security-code': 4,
  postcode: 10,
};

export const MIN_POSTCODE_DIGITS = 3;
export const MAX_EXPIRY_YEARS_AHEAD = 20;

export interface FieldContext {
  acceptedBrands: readonly CardBrand[];
  clock: Clock;
  /** Brand of the card-number field, when it is known (drives the security-code length). */
  cardBrand: BrandRule | undefined;
  /** Fixed postcode length (e.g. 5 for US ZIP); undefined: 3–10 digits ended by the end key. */
  postcodeLength: number | undefined;
}

export type Verdict =
  | { status: 'incomplete'; reason?: FieldReason; brand?: CardBrand }
  | { status: 'complete'; brand?: CardBrand }
  | { status: 'rejected'; reason: FieldReason; brand?: CardBrand };

export function judgeField(field: PaymentField, digits: CapturedDigits, final: boolean, ctx: FieldContext): Verdict {
  if (final && digits.length === 0) return { status: 'rejected', reason: 'empty' };
  switch (field) {
    case 'card-number':
      return judgeCardNumber(digits, final, ctx);
    case 'expiry':
      return judgeExpiry(digits, final, ctx);
    case 'security-code':
      return judgeSecurityCode(digits, final, ctx);
    case 'postcode':
      return judgePostcode(digits, final, ctx);
  }
}

function judgeCardNumber(pan: CapturedDigits, final: boolean, ctx: FieldContext): Verdict {
  const match = detectBrand(pan);
  const atCapacity = pan.length >= FIELD_CAPACITY['card-number'];
  if (match.kind !== 'brand') {
    if (match.kind === 'unknown') return final || atCapacity ? { status: 'rejected', reason: 'unknown-brand' } : { status: 'incomplete', reason: 'unknown-brand' };
    return final ? { status: 'rejected', reason: 'length' } : { status: 'incomplete' };
  }
  const rule = match.rule;
  const brand = rule.brand;
  const accepted = ctx.acceptedBrands.includes(brand);
  const maxLength = Math.max(...rule.panLengths);
  if (!accepted && !match.provisional) {
    const ended = final || atCapacity || pan.length >= maxLength;
    return ended ? { status: 'rejected', reason: 'brand-not-accepted', brand } : { status: 'incomplete', reason: 'brand-not-accepted', brand };
  }
  const lengthOk = rule.panLengths.includes(pan.length);
  if (final || pan.length >= maxLength) {
    if (!accepted) return { status: 'rejected', reason: 'brand-not-accepted', brand };
    if (!lengthOk) return { status: 'rejected', reason: 'length', brand };
    return pan.luhnValid() ? { status: 'complete', brand } : { status: 'rejected', reason: 'luhn', brand };
  }
  if (pan.length === rule.autoLength && accepted && pan.luhnValid()) return { status: 'complete', brand };
  return { status: 'incomplete', brand };
}

function judgeExpiry(mmyy: CapturedDigits, final: boolean, ctx: FieldContext): Verdict {
  const month = mmyy.numberAt(0, 2);
  const monthBad = month !== undefined && (month < 1 || month > 12);
  if (mmyy.length < 4) {
    if (final) return { status: 'rejected', reason: monthBad ? 'month' : 'length' };
    return monthBad ? { status: 'incomplete', reason: 'month' } : { status: 'incomplete' };
  }
  if (monthBad || month === undefined) return { status: 'rejected', reason: 'month' };
  const year = 2000 + (mmyy.numberAt(2, 2) ?? 0);
  const now = new Date(ctx.clock.now());
  const nowYear = now.getUTCFullYear();
  const nowMonth = now.getUTCMonth() + 1;
  // A card is valid through the last day of its expiry month (ISO/IEC 7813 practice).
  if (year * 12 + month < nowYear * 12 + nowMonth) return { status: 'rejected', reason: 'expired' };
  if (year > nowYear + MAX_EXPIRY_YEARS_AHEAD) return { status: 'rejected', reason: 'too-far' };
  return { status: 'complete' };
}

function judgeSecurityCode(code: CapturedDigits, final: boolean, ctx: FieldContext): Verdict {
  const required = ctx.cardBrand?.securityCodeLength;
  if (required !== undefined) {
    if (code.length === required) return { status: 'complete' };
    if (final || code.length > required) return { status: 'rejected', reason: 'length' };
    return { status: 'incomplete' };
  }
  if (code.length === 4 || (final && code.length === 3)) return { status: 'complete' };
  return final ? { status: 'rejected', reason: 'length' } : { status: 'incomplete' };
}

function judgePostcode(code: CapturedDigits, final: boolean, ctx: FieldContext): Verdict {
  const fixed = ctx.postcodeLength;
  if (fixed !== undefined) {
    if (code.length === fixed) return { status: 'complete' };
    return final ? { status: 'rejected', reason: 'length' } : { status: 'incomplete' };
  }
  if (code.length >= FIELD_CAPACITY.postcode) return { status: 'complete' };
  if (final) return code.length >= MIN_POSTCODE_DIGITS ? { status: 'complete' } : { status: 'rejected', reason: 'length' };
  return { status: 'incomplete' };
}
