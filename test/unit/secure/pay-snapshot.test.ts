/**
 * The agent-facing snapshot (`pay/{sessionId}`, `events/pay`, `pay.status`, SIP INFO), field by field
 * against issue #6: digits entered (count), complete, valid / invalid with reason, brand, and once
 * the card number is complete its last four, the BIN only when policy allows (PCI DSS 3.4.1).
 * Checked on the snapshots the manager emits, in their JSON form (what leaves the box).
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { PaymentManager } from '../../../controller/secure/payment-manager';
import { DEFAULT_PAYMENT_POLICY, type PaymentPolicy, type PaymentRequest, type PaymentSnapshot } from '../../../controller/secure/payment-types';
import { ManualClock } from '../../lib/manual-clock';
import { FakeConnector, FakeUplink, settle } from '../../lib/secure-fakes';
import { futureExpiry, keyCodes, TEST_CARDS } from '../../lib/secure-cards';

const FEEDBACK_KEYS = new Set(['field', 'count', 'complete', 'valid', 'reason', 'brand', 'last4', 'bin']);

function rig(policy: Partial<PaymentPolicy> = {}, request: Partial<PaymentRequest> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 22));
  const manager = new PaymentManager({ policy: { ...DEFAULT_PAYMENT_POLICY, ...policy }, connector: new FakeConnector(), clock, logger: nullLogger, newSessionId: () => 'sess-1' });
  const seen: PaymentSnapshot[] = [];
  const json = (s: PaymentSnapshot) => JSON.parse(JSON.stringify(s)) as PaymentSnapshot;
  manager.on('progress', (s) => seen.push(json(s)));
  manager.on('ended', (s) => seen.push(json(s)));
  manager.start({ requestId: 'r-1', callId: 'call-1', fields: ['card-number', 'expiry', 'security-code'], amountMinor: 100, currency: 'EUR', reference: 'x', ...request }, new FakeUplink());
  const key = (keys: string) => {
    for (const code of keyCodes(keys)) manager.key('call-1', { code, secure: true });
  };
  const last = (): PaymentSnapshot => {
    const s = seen[seen.length - 1];
    assert.ok(s, 'a snapshot was emitted');
    return s;
  };
  const field = (name: string) => {
    const f = last().fields.find((x) => x.field === name);
    assert.ok(f, name);
    return f;
  };
  return { clock, manager, seen, key, last, field };
}

/** Longest run of digits in a text. */
function longestDigitRun(text: string): number {
  return Math.max(0, ...(text.match(/\d+/g) ?? []).map((r) => r.length));
}

describe('secure: the agent-facing snapshot, field by field (issue #6 agent feedback)', () => {
  it('at start: every field with count 0, not complete, not valid, no reason, brand or last four', () => {
    const r = rig();
    assert.equal(r.last().state, 'collecting');
    assert.equal(r.last().field, 'card-number');
    assert.deepEqual(r.last().fields, [
      { field: 'card-number', count: 0, complete: false, valid: false },
      { field: 'expiry', count: 0, complete: false, valid: false },
      { field: 'security-code', count: 0, complete: false, valid: false },
    ]);
    assert.equal(r.last().result, undefined);
  });

  it('count follows each key, brand shows as soon as it is known, last four only once complete', () => {
    const r = rig();
    const counts: number[] = [];
    for (const d of TEST_CARDS.visa.slice(0, 15)) {
      r.key(d);
      counts.push(r.field('card-number').count);
      assert.equal(r.field('card-number').last4, undefined);
      assert.equal(r.field('card-number').complete, false);
    }
    assert.deepEqual(counts, Array.from({ length: 15 }, (_, i) => i + 1));
    assert.equal(r.field('card-number').brand, 'visa');
    r.key(TEST_CARDS.visa.slice(15));
    assert.deepEqual(r.field('card-number'), { field: 'card-number', count: 16, complete: true, valid: true, brand: 'visa', last4: '1111' });
    assert.equal(r.last().field, 'expiry', 'collection moved on by itself');
  });

  const invalid: [string, string, Partial<PaymentRequest>, string][] = [
    ['unknown-brand', '99', {}, 'unknown-brand'],
    ['brand-not-accepted', TEST_CARDS.visa.slice(0, 4), { acceptedBrands: ['mastercard'] }, 'brand-not-accepted'],
  ];
  for (const [name, keys, request, reason] of invalid) {
    it(`invalid while entering, with its reason (${name}); rejected at the end key: complete, not valid`, () => {
      const r = rig({}, request);
      r.key(keys);
      assert.deepEqual(
        { complete: r.field('card-number').complete, valid: r.field('card-number').valid, reason: r.field('card-number').reason },
        { complete: false, valid: false, reason },
      );
      r.key('#');
      assert.equal(r.field('card-number').complete, true);
      assert.equal(r.field('card-number').valid, false);
      assert.equal(r.field('card-number').reason, reason);
      assert.equal(r.field('card-number').last4, undefined);
    });
  }

  it('a Luhn failure at the only length is invalid with reason luhn and shows no last four', () => {
    const r = rig();
    r.key('5555555555554445');
    assert.deepEqual(r.field('card-number'), { field: 'card-number', count: 16, complete: true, valid: false, reason: 'luhn', brand: 'mastercard' });
  });

  it('expiry and security code: month, expired, length reasons; valid once complete', () => {
    const r = rig();
    r.key(TEST_CARDS.amex);
    r.key('13');
    assert.equal(r.field('expiry').reason, 'month');
    r.key('*0125');
    assert.deepEqual(r.field('expiry'), { field: 'expiry', count: 4, complete: true, valid: false, reason: 'expired' });
    r.key(futureExpiry(r.clock.now()));
    assert.deepEqual(r.field('expiry'), { field: 'expiry', count: 4, complete: true, valid: true });
    r.key('12#');
    assert.deepEqual(r.field('security-code'), { field: 'security-code', count: 2, complete: true, valid: false, reason: 'length' });
  });

  for (const binDigits of [0, 6, 8] as const) {
    it(`BIN: ${binDigits === 0 ? 'never shown by default' : `${binDigits} digits when policy allows`}, only once the number is complete`, () => {
      const r = rig({ binDigits });
      r.key(TEST_CARDS.mastercard.slice(0, 12));
      assert.equal(r.field('card-number').bin, undefined);
      r.key(TEST_CARDS.mastercard.slice(12));
      assert.equal(r.field('card-number').bin, binDigits === 0 ? undefined : TEST_CARDS.mastercard.slice(0, binDigits));
      assert.equal(r.field('card-number').last4, '4444');
      const text = JSON.stringify(r.seen);
      assert.ok(longestDigitRun(text.replace(/"(startedAt|endedAt)":\d+/g, '')) <= Math.max(4, binDigits), 'no longer digit run than BIN / last four');
    });
  }

  it('the ended snapshot carries the result with brand and last four (never the BIN) and the masking record', async () => {
    const r = rig({ binDigits: 8 });
    r.key(TEST_CARDS.visa + futureExpiry(r.clock.now()) + '123');
    await settle();
    const end = r.last();
    assert.equal(end.state, 'approved');
    assert.deepEqual(Object.keys(end.result ?? {}).sort(), ['brand', 'last4', 'masking', 'outcome', 'processorReference']);
    assert.equal(end.result?.last4, '1111');
    assert.equal(end.result?.brand, 'visa');
    assert.equal(end.field, undefined);
    assert.ok(end.endedAt !== undefined && end.endedAt >= end.startedAt);
  });

  it('every snapshot of a session holds only the documented feedback keys', async () => {
    const r = rig({ binDigits: 6 });
    r.key('9#*' + TEST_CARDS.discover + '0199' + futureExpiry(r.clock.now()) + '12#*' + '321');
    await settle();
    assert.ok(r.seen.length > 20);
    for (const s of r.seen) for (const f of s.fields) for (const k of Object.keys(f)) assert.ok(FEEDBACK_KEYS.has(k), `unexpected key ${k}`);
    assert.equal(r.last().state, 'approved');
  });
});
