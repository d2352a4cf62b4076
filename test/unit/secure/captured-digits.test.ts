import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { CapturedDigits } from '../../../controller/secure/captured-digits';
import { codeOfDigit, keyOfCode } from '../../../controller/secure/keypad';
import { assertNoCardData, TEST_CARDS } from '../../lib/secure-cards';

function capture(text: string): CapturedDigits {
  const d = new CapturedDigits(19);
  for (const ch of text) d.append(ch.charCodeAt(0) - 48);
  return d;
}

describe('secure: CapturedDigits (STYLE.md captured-digit type, DESIGN.md §7)', () => {
  it('has no string form: toString and inspect redact, toJSON and valueOf throw', () => {
    const d = capture(TEST_CARDS.visa);
    assert.equal(String(d), '[REDACTED 16 digits]');
    assert.equal(d.toString(), '[REDACTED 16 digits]');
    assert.equal(inspect(d), '[REDACTED 16 digits]');
    assert.equal(inspect({ nested: d }, { depth: 5 }).includes('[REDACTED 16 digits]'), true);
    assert.throws(() => JSON.stringify({ d }), { code: 'ESECURE_SERIALISE' });
    assert.throws(() => +(d as unknown as number), { code: 'ESECURE_SERIALISE' });
    assert.deepEqual(Object.keys(d), []);
    assertNoCardData([String(d), inspect(d, { showHidden: true, depth: 9 }), JSON.stringify(Object.entries(d))], { pan: TEST_CARDS.visa });
  });

  it('stores digit values, not ASCII, and checks Luhn on the bytes', () => {
    assert.equal(capture(TEST_CARDS.visa).luhnValid(), true);
    assert.equal(capture('4111111111111112').luhnValid(), false);
    assert.equal(new CapturedDigits(4).luhnValid(), false);
    const d = capture('0931');
    assert.equal(d.numberAt(0, 2), 9);
    assert.equal(d.numberAt(2, 2), 31);
    assert.equal(d.numberAt(3, 2), undefined);
    const out = Buffer.alloc(4);
    assert.equal(d.writeAscii(out, 0), 4);
    assert.deepEqual([...out], [48, 57, 51, 49]);
  });

  it('refuses digits beyond capacity and values outside 0–9', () => {
    const d = new CapturedDigits(3);
    assert.equal(d.append(1), true);
    assert.equal(d.append(2), true);
    assert.equal(d.append(3), true);
    assert.equal(d.append(4), false);
    assert.equal(d.length, 3);
    assert.throws(() => d.append(10), { code: 'ESECURE_DIGIT', message: /digit value 10 is outside 0–9/ });
    assert.throws(() => new CapturedDigits(0), { code: 'ESECURE_CAPACITY' });
  });

  it('wipe zero-fills and destroy refuses further digits', () => {
    const d = capture('4111');
    d.wipe();
    assert.equal(d.length, 0);
    assert.equal(d.append(5), true);
    assert.equal(d.numberAt(0, 1), 5);
    d.destroy();
    assert.equal(d.length, 0);
    assert.equal(d.append(5), false);
    assert.equal(d.destroyed, true);
  });

  it('shows at most the last four and an 8-digit BIN (PCI DSS 3.4.1)', () => {
    const d = capture(TEST_CARDS.mastercard);
    assert.equal(d.lastDigitsText(4), '4444');
    assert.equal(d.prefixText(6), '555555');
    assert.throws(() => d.lastDigitsText(5), { code: 'ESECURE_DISPLAY' });
    assert.throws(() => d.prefixText(9), { code: 'ESECURE_DISPLAY' });
  });

  it('allZero is true only for a non-empty all-zero entry', () => {
    assert.equal(capture('000').allZero(), true);
    assert.equal(capture('010').allZero(), false);
    assert.equal(new CapturedDigits(3).allZero(), false);
  });
});

describe('secure: keypad codes (controller/dsp DTMF code = row × 4 + column)', () => {
  it('maps the 16 codes to digits, star, hash and letters', () => {
    const layout = '123A456B789C*0#D';
    for (let code = 0; code < 16; code++) {
      const ch = layout[code] ?? '';
      const key = keyOfCode(code);
      if (ch >= '0' && ch <= '9') assert.deepEqual(key, { kind: 'digit', value: ch.charCodeAt(0) - 48 });
      else if (ch === '*') assert.deepEqual(key, { kind: 'star' });
      else if (ch === '#') assert.deepEqual(key, { kind: 'hash' });
      else assert.deepEqual(key, { kind: 'letter' });
    }
    assert.equal(keyOfCode(16), undefined);
    assert.equal(keyOfCode(-1), undefined);
    for (let v = 0; v < 10; v++) assert.deepEqual(keyOfCode(codeOfDigit(v)), { kind: 'digit', value: v });
  });
});
