import assert from 'node:assert/strict';
import { CapturedDigits } from '../../../controller/secure/captured-digits';
import { BRAND_RULES, CARD_BRANDS, detectBrand, type CardBrand } from '../../../controller/secure/card-brands';
import { FieldCapture } from '../../../controller/secure/field-capture';
import type { FieldContext, PaymentField } from '../../../controller/secure/field-rules';
import { ManualClock } from '../../lib/manual-clock';
import { assertNoCardData, TEST_CARDS } from '../../lib/secure-cards';

// 2026-11-22 UTC
const clock = new ManualClock(Date.UTC(2026, 10, 22, 5, 0, 0));

function digits(text: string, capacity = 19): CapturedDigits {
  const d = new CapturedDigits(capacity);
  for (const ch of text) d.append(ch.charCodeAt(0) - 48);
  return d;
}

function field(name: PaymentField, over: Partial<FieldContext> = {}, binDigits: 0 | 6 | 8 = 0): FieldCapture {
  const ctx: FieldContext = { acceptedBrands: CARD_BRANDS, clock, cardBrand: undefined, postcodeLength: undefined, ...over };
  return new FieldCapture({ field: name, binDigits, context: () => ctx });
}

function key(f: FieldCapture, text: string): void {
  for (const ch of text) {
    if (ch === '#') f.end();
    else if (ch === '*') f.clear();
    else f.digit(ch.charCodeAt(0) - 48);
  }
}

describe('secure: card brands by IIN range', () => {
  const cases: [string, CardBrand][] = [
    [TEST_CARDS.visa, 'visa'],
    [TEST_CARDS.mastercard, 'mastercard'],
    [TEST_CARDS.mastercard2, 'mastercard'],
    [TEST_CARDS.amex, 'amex'],
    [TEST_CARDS.discover, 'discover'],
    ['6221260000000000', 'discover'],
    [TEST_CARDS.diners14, 'diners'],
    ['30569309025904', 'diners'],
    [TEST_CARDS.jcb, 'jcb'],
    [TEST_CARDS.unionpay, 'unionpay'],
    [TEST_CARDS.maestro, 'maestro'],
    ['5018000000000009', 'maestro'],
  ];
  for (const [pan, brand] of cases) {
    it(`detects ${brand} from ${pan.slice(0, 6)}…`, () => {
      const m = detectBrand(digits(pan));
      assert.equal(m.kind, 'brand');
      if (m.kind === 'brand') assert.equal(m.rule.brand, brand);
    });
  }

  it('longest prefix wins: 62 is UnionPay until 622126 makes it Discover', () => {
    const m2 = detectBrand(digits('62'));
    assert.ok(m2.kind === 'brand' && m2.rule.brand === 'unionpay' && m2.provisional);
    const m6 = detectBrand(digits('622126'));
    assert.ok(m6.kind === 'brand' && m6.rule.brand === 'discover' && !m6.provisional);
  });

  it('reports pending while a range can still match and unknown when none can', () => {
    assert.equal(detectBrand(digits('')).kind, 'pending');
    assert.equal(detectBrand(digits('2')).kind, 'pending');
    assert.equal(detectBrand(digits('1')).kind, 'unknown');
    assert.equal(detectBrand(digits('2799')).kind, 'unknown');
    assert.equal(detectBrand(digits('99')).kind, 'unknown');
  });

  it('Mastercard 2-series covers 2221–2720 only', () => {
    assert.equal(detectBrand(digits('2220')).kind, 'unknown');
    const lo = detectBrand(digits('2221'));
    const hi = detectBrand(digits('2720'));
    assert.ok(lo.kind === 'brand' && lo.rule.brand === 'mastercard');
    assert.ok(hi.kind === 'brand' && hi.rule.brand === 'mastercard');
    assert.equal(detectBrand(digits('2721')).kind, 'unknown');
  });

  it('security codes: Amex 4, every other brand 3', () => {
    for (const b of CARD_BRANDS) assert.equal(BRAND_RULES[b].securityCodeLength, b === 'amex' ? 4 : 3);
  });
});

describe('secure: card-number field', () => {
  it('completes by itself at the brand length when Luhn-valid, with last four and no BIN by default', () => {
    for (const pan of [TEST_CARDS.visa, TEST_CARDS.mastercard, TEST_CARDS.amex, TEST_CARDS.discover, TEST_CARDS.jcb, TEST_CARDS.unionpay, TEST_CARDS.maestro, TEST_CARDS.diners14]) {
      const f = field('card-number');
      key(f, pan);
      assert.equal(f.state, 'complete', pan.slice(0, 4));
      const fb = f.feedback();
      assert.equal(fb.valid, true);
      assert.equal(fb.count, pan.length);
      assert.equal(fb.last4, pan.slice(-4));
      assert.equal(fb.bin, undefined);
      assertNoCardData([JSON.stringify(fb)], { pan });
    }
  });

  it('shows the BIN only when policy allows it', () => {
    const f = field('card-number', {}, 6);
    key(f, TEST_CARDS.visa);
    assert.equal(f.feedback().bin, '411111');
  });

  it('gives no last four before the number is complete', () => {
    const f = field('card-number');
    key(f, TEST_CARDS.visa.slice(0, 15));
    const fb = f.feedback();
    assert.equal(fb.complete, false);
    assert.equal(fb.last4, undefined);
    assert.equal(fb.brand, 'visa');
    assert.equal(fb.count, 15);
  });

  it('a Luhn-invalid 16-digit Visa waits for 19 digits, then is rejected for Luhn', () => {
    const f = field('card-number');
    key(f, '4111111111111112');
    assert.equal(f.state, 'entering');
    key(f, '000');
    assert.equal(f.state, 'rejected');
    assert.equal(f.feedback().reason, 'luhn');
    assert.equal(f.feedback().last4, undefined);
  });

  it('a Luhn-invalid Mastercard is rejected at its only length', () => {
    const f = field('card-number');
    key(f, '5555555555554445');
    assert.equal(f.state, 'rejected');
    assert.deepEqual(f.feedback(), { field: 'card-number', count: 16, complete: true, valid: false, reason: 'luhn', brand: 'mastercard' });
  });

  it('the end key completes a shorter valid length (13-digit Visa) and rejects a wrong length', () => {
    const f = field('card-number');
    key(f, TEST_CARDS.visa13 + '#');
    assert.equal(f.state, 'complete');
    const g = field('card-number');
    key(g, '41111111#');
    assert.equal(g.state, 'rejected');
    assert.equal(g.feedback().reason, 'length');
  });

  it('says unknown-brand as soon as no range can match, and rejects at the end key', () => {
    const f = field('card-number');
    key(f, '9');
    assert.equal(f.feedback().reason, 'unknown-brand');
    assert.equal(f.state, 'entering');
    key(f, '12#');
    assert.equal(f.state, 'rejected');
  });

  it('says brand-not-accepted for a brand outside the accepted list', () => {
    const f = field('card-number', { acceptedBrands: ['visa', 'mastercard'] });
    key(f, '3782');
    assert.equal(f.feedback().reason, 'brand-not-accepted');
    key(f, TEST_CARDS.amex.slice(4));
    assert.equal(f.state, 'rejected');
    assert.equal(f.feedback().reason, 'brand-not-accepted');
  });

  it('the clear key wipes the entry; a digit after a rejection starts a new attempt', () => {
    const f = field('card-number');
    key(f, '4111*');
    assert.equal(f.state, 'empty');
    assert.equal(f.feedback().count, 0);
    key(f, '5555555555554445');
    assert.equal(f.state, 'rejected');
    assert.equal(f.attempts, 2);
    key(f, TEST_CARDS.mastercard);
    assert.equal(f.state, 'complete');
    assert.equal(f.attempts, 3);
    assert.equal(f.rejections, 1);
  });

  it('an empty field ended by the end key is rejected as empty; a complete field takes no digit', () => {
    const f = field('card-number');
    key(f, '#');
    assert.equal(f.feedback().reason, 'empty');
    const g = field('card-number');
    key(g, TEST_CARDS.visa);
    assert.equal(g.accepts('digit'), false);
    assert.throws(() => g.digit(1), { code: 'ESECURE_FIELD_TRANSITION', message: /cannot take digit in state complete/ });
  });
});

describe('secure: expiry field (MMYY, injected clock at 2026-11)', () => {
  const cases: [string, 'complete' | 'rejected', string?][] = [
    ['1126', 'complete'],
    ['1226', 'complete'],
    ['0127', 'complete'],
    ['1026', 'rejected', 'expired'],
    ['0125', 'rejected', 'expired'],
    ['1346', 'rejected', 'month'],
    ['0030', 'rejected', 'month'],
    ['1247', 'rejected', 'too-far'],
    ['1246', 'complete'],
  ];
  for (const [mmyy, state, reason] of cases) {
    it(`${mmyy} → ${state}${reason ? ` (${reason})` : ''}`, () => {
      const f = field('expiry');
      key(f, mmyy);
      assert.equal(f.state, state);
      assert.equal(f.feedback().reason, reason);
    });
  }

  it('flags a bad month after two digits, before completion', () => {
    const f = field('expiry');
    key(f, '13');
    assert.equal(f.state, 'entering');
    assert.equal(f.feedback().reason, 'month');
  });

  it('the end key before four digits rejects for length', () => {
    const f = field('expiry');
    key(f, '12#');
    assert.equal(f.feedback().reason, 'length');
  });
});

describe('secure: security-code field', () => {
  it('3 digits for Visa, 4 for Amex, completing by itself', () => {
    const v = field('security-code', { cardBrand: BRAND_RULES.visa });
    key(v, '123');
    assert.equal(v.state, 'complete');
    const a = field('security-code', { cardBrand: BRAND_RULES.amex });
    key(a, '123');
    assert.equal(a.state, 'entering');
    key(a, '4');
    assert.equal(a.state, 'complete');
  });

  it('a short code ended by the end key is rejected for length', () => {
    const a = field('security-code', { cardBrand: BRAND_RULES.amex });
    key(a, '12#');
    assert.equal(a.feedback().reason, 'length');
  });

  it('without a card brand: 4 digits complete, 3 need the end key', () => {
    const f = field('security-code');
    key(f, '123');
    assert.equal(f.state, 'entering');
    key(f, '#');
    assert.equal(f.state, 'complete');
  });
});

describe('secure: postcode field (optional)', () => {
  it('fixed length completes by itself', () => {
    const f = field('postcode', { postcodeLength: 5 });
    key(f, '94105');
    assert.equal(f.state, 'complete');
  });

  it('free length needs the end key and at least 3 digits', () => {
    const f = field('postcode');
    key(f, '9410');
    assert.equal(f.state, 'entering');
    key(f, '#');
    assert.equal(f.state, 'complete');
    const g = field('postcode');
    key(g, '94#');
    assert.equal(g.feedback().reason, 'length');
  });
});
