import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nullLogger } from '../../../hw/base/logger';
import { PaymentManager } from '../../../controller/secure/payment-manager';
import { PAYMENT_RECORD_COLUMNS, paymentRecord } from '../../../controller/secure/payment-record';
import { DEFAULT_PAYMENT_POLICY, TERMINAL_STATES, type PaymentSnapshot } from '../../../controller/secure/payment-types';
import { ManualClock } from '../../lib/manual-clock';
import { futureExpiry, keyCodes, TEST_CARDS } from '../../lib/secure-cards';
import { FakeConnector, FakeUplink, settle } from '../../lib/secure-fakes';

type Step = { kind: 'key'; code: number; secure: boolean } | { kind: 'clear' } | { kind: 'wait'; ms: number } | { kind: 'cancel' } | { kind: 'fault' } | { kind: 'hangup' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('key' as const), code: fc.integer({ min: -2, max: 17 }), secure: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'cancel' as const }, { kind: 'fault' as const }, { kind: 'hangup' as const }) },
);

describe('secure: session properties (fast-check)', () => {
  it('any key and command sequence: no throw from keys, secure mode balanced, all captured data wiped at the end, snapshots hold no digit run', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const clock = new ManualClock(Date.UTC(2026, 10, 22));
        const connector = new FakeConnector();
        const m = new PaymentManager({ policy: DEFAULT_PAYMENT_POLICY, connector, clock, logger: nullLogger, newSessionId: () => 'sess' });
        const uplink = new FakeUplink();
        const seen: PaymentSnapshot[] = [];
        m.on('progress', (s) => seen.push(s));
        m.on('ended', (s) => seen.push(s));
        m.start({ requestId: 'r', callId: 'c', fields: ['card-number', 'expiry', 'security-code', 'postcode'], amountMinor: 1, currency: 'USD', reference: 'x' }, uplink);
        for (const s of steps) {
          if (s.kind === 'key') m.key('c', { code: s.code, secure: s.secure });
          else if (s.kind === 'wait') clock.advance(s.ms);
          else if (s.kind === 'fault') m.maskingFault('c');
          else if (s.kind === 'hangup') m.hangup('c');
          else if (m.activeSessionOf('c') !== undefined) {
            try {
              if (s.kind === 'clear') m.clearField('sess');
              else m.cancel('sess');
            } catch (err) {
              assert.match(String((err as { code?: string }).code), /^ESECURE_(STATE|UNKNOWN_SESSION)$/);
            }
          }
          await settle();
        }
        if (m.activeSessionOf('c') !== undefined && m.status('sess').state !== 'submitting') m.cancel('sess');
        await settle();
        clock.advance(DEFAULT_PAYMENT_POLICY.faultHoldMs);
        const final = m.status('sess');
        assert.ok(TERMINAL_STATES.includes(final.state), final.state);
        assert.equal(uplink.secure, false);
        assert.equal(uplink.enters, uplink.exits);
        for (const r of connector.received) assert.equal(r.cardNumber?.destroyed ?? true, true);
        for (const s of seen) assert.equal(/\d{5,}/.test(JSON.stringify({ ...s, startedAt: 0, endedAt: 0 })), false);
        assert.equal(clock.pending, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('the session record has only masked columns and counts outcomes', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22));
    const m = new PaymentManager({ policy: DEFAULT_PAYMENT_POLICY, connector: new FakeConnector(), clock, logger: nullLogger });
    const ended: PaymentSnapshot[] = [];
    m.on('ended', (s) => ended.push(s));
    m.start({ requestId: 'r', callId: 'c', fields: ['card-number', 'expiry', 'security-code'], amountMinor: 1, currency: 'USD', reference: 'x' }, new FakeUplink());
    for (const code of keyCodes(TEST_CARDS.visa + futureExpiry(clock.now()) + '837')) m.key('c', { code, secure: true });
    await settle();
    const rec = paymentRecord(ended[0] as PaymentSnapshot);
    assert.deepEqual(Object.keys(rec).sort(), [...PAYMENT_RECORD_COLUMNS].sort());
    for (const col of PAYMENT_RECORD_COLUMNS) assert.equal(/pan|card.?number|expiry|cvv|security/i.test(col), false, col);
    assert.equal(rec.outcome, 'approved');
    assert.equal(rec.last4, '1111');
    assert.equal(rec.digitCounts, '16,4,3');
    assert.equal(JSON.stringify(rec).includes(TEST_CARDS.visa), false);
    assert.deepEqual(m.counters, { started: 1, approved: 1, declined: 0, error: 0, cancelled: 0, timedOut: 0, maskingAlarms: 0, discardedKeys: 0 });
  });
});
