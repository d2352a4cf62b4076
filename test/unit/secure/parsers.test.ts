import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TonewallError } from '../../../hw/base/errors';
import { CapturedDigits } from '../../../controller/secure/captured-digits';
import { buildPlaintext, destroyAll, parsePlaintext } from '../../../controller/secure/payment-plaintext';
import { parseProcessorResponse } from '../../../controller/secure/processor-response';
import { parsePaymentRequest } from '../../../controller/secure/payment-request';
import { digitsEqual } from '../../lib/secure-fakes';
import { assertNoCardData, TEST_CARDS } from '../../lib/secure-cards';

function captured(text: string, capacity: number): CapturedDigits {
  const d = new CapturedDigits(capacity);
  for (const ch of text) d.append(ch.charCodeAt(0) - 48);
  return d;
}

describe('secure: JWE plaintext bytes', () => {
  it('builds the documented JSON bytes and reads them back into captured digits', () => {
    const bytes = buildPlaintext({ cardNumber: captured(TEST_CARDS.jcb, 19), expiry: captured('0931', 4), securityCode: captured('123', 4) });
    assert.equal(bytes.toString('latin1'), `{"pan":"${TEST_CARDS.jcb}","exp":"0931","cvv":"123"}`);
    const back = parsePlaintext(bytes);
    bytes.fill(0);
    assert.equal(digitsEqual(back.cardNumber, TEST_CARDS.jcb), true);
    assert.equal(digitsEqual(back.expiry, '0931'), true);
    assert.equal(digitsEqual(back.securityCode, '123'), true);
    assert.equal(back.postcode, undefined);
    destroyAll(back);
    assert.equal(back.cardNumber?.length, 0);
  });

  it('writes only the fields captured (postcode alone)', () => {
    assert.equal(buildPlaintext({ postcode: captured('94105', 10) }).toString('latin1'), '{"postcode":"94105"}');
    assert.throws(() => buildPlaintext({}), { code: 'ESECURE_PLAINTEXT' });
  });

  it('refuses malformed plaintext with an error naming the position, never the digits', () => {
    const bad = [`{"pan":"${TEST_CARDS.visa}x"}`, `{"pan":"${TEST_CARDS.visa}","pan":"1"}`, `{"iban":"${TEST_CARDS.visa}"}`, `{"pan":"${TEST_CARDS.visa}"} `, `{"pan":"${TEST_CARDS.visa}${TEST_CARDS.visa}"}`, '{"pan":"4111'];
    for (const text of bad) {
      let message = '';
      try {
        parsePlaintext(Buffer.from(text, 'latin1'));
      } catch (err) {
        assert.ok(err instanceof TonewallError);
        assert.equal(err.code, 'ESECURE_PLAINTEXT');
        message = err.message;
      }
      assert.notEqual(message, '', text);
      assertNoCardData([message], { pan: TEST_CARDS.visa });
    }
  });

  it('fuzz: arbitrary or corrupted bytes give a result or ESECURE_PLAINTEXT, nothing else', () => {
    const good = Buffer.from(`{"pan":"${TEST_CARDS.visa}","exp":"1228","cvv":"123"}`, 'latin1');
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
        const copy = Uint8Array.from(good);
        copy[i] = b;
        return copy;
      })), (bytes) => {
        try {
          destroyAll(parsePlaintext(bytes));
        } catch (err) {
          assert.ok(err instanceof TonewallError && err.code === 'ESECURE_PLAINTEXT');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('secure: processor response', () => {
  const ok = (o: unknown) => Buffer.from(JSON.stringify(o));
  it('maps approved, declined and error with reference and reason', () => {
    assert.deepEqual(parseProcessorResponse(200, ok({ status: 'approved', reference: 'tp-1' })), { outcome: 'approved', reference: 'tp-1' });
    assert.deepEqual(parseProcessorResponse(200, ok({ status: 'declined', reason: 'cvv-mismatch', reference: 'r' })), { outcome: 'declined', reason: 'cvv-mismatch', reference: 'r' });
    assert.deepEqual(parseProcessorResponse(200, ok({ status: 'error' })), { outcome: 'error' });
  });

  it('anything else is an error: non-200, bad JSON, bad fields, card-like text', () => {
    assert.deepEqual(parseProcessorResponse(503, ok({ status: 'approved' })), { outcome: 'error', reason: 'http-503' });
    for (const body of ['', 'null', '[]', '{"status":"maybe"}', '{"status":"approved","reference":"has space"}', JSON.stringify({ status: 'approved', reference: TEST_CARDS.visa })]) {
      assert.deepEqual(parseProcessorResponse(200, Buffer.from(body)), { outcome: 'error', reason: 'bad-response' }, body);
    }
  });
});

describe('secure: pay.start parameters', () => {
  const base = { requestId: 'r-1', callId: 'call-9', amountMinor: 100, currency: 'USD', reference: 'inv-1' };
  it('defaults the fields to card number, expiry, security code', () => {
    assert.deepEqual(parsePaymentRequest(base).fields, ['card-number', 'expiry', 'security-code']);
  });

  it('lists every problem at once and never echoes a card-like reference', () => {
    let message = '';
    try {
      parsePaymentRequest({ ...base, currency: 'usd', fields: ['security-code', 'card-number'], reference: TEST_CARDS.visa, extra: 1 });
    } catch (err) {
      message = err instanceof Error ? err.message : '';
    }
    assert.match(message, /currency/);
    assert.match(message, /fields/);
    assert.match(message, /reference/);
    assertNoCardData([message], { pan: TEST_CARDS.visa });
  });

  it('refuses repeated fields and unknown brands', () => {
    assert.throws(() => parsePaymentRequest({ ...base, fields: ['expiry', 'expiry'] }), { code: 'ESECURE_REQUEST' });
    assert.throws(() => parsePaymentRequest({ ...base, acceptedBrands: ['bankcard'] }), { code: 'ESECURE_REQUEST' });
  });
});
