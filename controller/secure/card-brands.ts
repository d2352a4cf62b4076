/**
 * Card brands by IIN range (ISO/IEC 7812-1 issuer identification numbers, as the networks publish
 * them), with the PAN lengths and security-code lengths each brand uses.
 *
 * Detection is longest-prefix-wins over the ranges below, on the digits entered so far: a range with
 * a 6-digit prefix (Discover's 622126–622925) beats UnionPay's 2-digit "62" once six digits are in.
 * Until enough digits are in, the brand is provisional. Every brand is Luhn-checked here (some older
 * UnionPay cards are not Luhn-valid; they are refused, and docs/payments.md says so).
 */
import type { CapturedDigits } from './captured-digits';

export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'diners', 'jcb', 'unionpay', 'maestro'] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

export interface BrandRule {
  brand: CardBrand;
  /** PAN lengths the brand issues. */
  panLengths: readonly number[];
  /** Length at which a Luhn-valid entry completes by itself (longer ones need the end key or max length). */
  autoLength: number;
  securityCodeLength: 3 | 4;
}

export const BRAND_RULES: Readonly<Record<CardBrand, BrandRule>> = {
  visa: { brand: 'visa', panLengths: [13, 16, 19], autoLength: 16, securityCodeLength: 3 },
  mastercard: { brand: 'mastercard', panLengths: [16], autoLength: 16, securityCodeLength: 3 },
  amex: { brand: 'amex', panLengths: [15], autoLength: 15, securityCodeLength: 4 },
  discover: { brand: 'discover', panLengths: [16, 17, 18, 19], autoLength: 16, securityCodeLength: 3 },
  diners: { brand: 'diners', panLengths: [14, 15, 16, 17, 18, 19], autoLength: 14, securityCodeLength: 3 },
  jcb: { brand: 'jcb', panLengths: [16, 17, 18, 19], autoLength: 16, securityCodeLength: 3 },
  unionpay: { brand: 'unionpay', panLengths: [16, 17, 18, 19], autoLength: 16, securityCodeLength: 3 },
  maestro: { brand: 'maestro', panLengths: [12, 13, 14, 15, 16, 17, 18, 19], autoLength: 16, securityCodeLength: 3 },
};

interface IinRange {
  brand: CardBrand;
  /** Number of leading digits the range is expressed in. */
  digits: number;
  low: number;
  high: number;
}

function r(brand: CardBrand, low: number, high: number = low): IinRange {
  return { brand, digits: String(low).length, low, high };
}

/** IIN ranges; overlaps are resolved by the longer prefix. */
export const IIN_RANGES: readonly IinRange[] = [
  r('visa', 4),
  r('mastercard', 51, 55),
  r('mastercard', 2221, 2720),
  r('amex', 34),
  r('amex', 37),
  r('discover', 6011),
  r('discover', 644, 649),
  r('discover', 65),
  r('discover', 622126, 622925),
  r('diners', 300, 305),
  r('diners', 3095),
  r('diners', 36),
  r('diners', 38, 39),
  r('jcb', 3528, 3589),
  r('unionpay', 62),
  r('unionpay', 81),
  r('maestro', 5018),
  r('maestro', 5020),
  r('maestro', 5038),
  r('maestro', 5893),
  r('maestro', 6304),
  r('maestro', 6759),
  r('maestro', 6761, 6763),
];

export type BrandMatch =
  | { kind: 'brand'; rule: BrandRule; provisional: boolean }
  | { kind: 'pending' }
  | { kind: 'unknown' };

/**
 * The brand of the digits entered so far. `provisional` is true while a longer range could still
 * override the match; `pending` while some range could still match but none does yet; `unknown`
 * when no range can match any more.
 */
export function detectBrand(pan: CapturedDigits): BrandMatch {
  let best: IinRange | undefined;
  let couldStillMatch = false;
  for (const range of IIN_RANGES) {
    if (pan.length >= range.digits) {
      const prefix = pan.numberAt(0, range.digits);
      if (prefix !== undefined && prefix >= range.low && prefix <= range.high && (!best || range.digits > best.digits)) best = range;
    } else if (prefixCanReach(pan, range)) {
      couldStillMatch = true;
    }
  }
  if (best) return { kind: 'brand', rule: BRAND_RULES[best.brand], provisional: couldStillMatch };
  return couldStillMatch ? { kind: 'pending' } : { kind: 'unknown' };
}

/** Whether the digits entered (fewer than the range's prefix) can still extend into the range. */
function prefixCanReach(pan: CapturedDigits, range: IinRange): boolean {
  const n = pan.length;
  if (n === 0) return true;
  const entered = pan.numberAt(0, n);
  if (entered === undefined) return false;
  const scale = 10 ** (range.digits - n);
  const lowest = entered * scale;
  const highest = lowest + scale - 1;
  return highest >= range.low && lowest <= range.high;
}
