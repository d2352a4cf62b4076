import assert from 'node:assert/strict';
import { createLogger, memorySink } from '../../../hw/base/logger';
import { encode } from '../../../controller/media/g711';
import { dtmfTone } from '../../../controller/dsp/tone-generator';
import { PaymentManager } from '../../../controller/secure/payment-manager';
import { DEFAULT_PAYMENT_POLICY, type PaymentPolicy, type PaymentRequest, type PaymentSnapshot } from '../../../controller/secure/payment-types';
import { ManualClock } from '../../lib/manual-clock';
import { assertNoCardData, futureExpiry, keyCodes, TEST_CARDS } from '../../lib/secure-cards';
import { FakeConnector, FakeUplink, settle } from '../../lib/secure-fakes';

const CVV = '837';

const rigs: { texts: () => string[]; expiry: string }[] = [];

function setup(policy: Partial<PaymentPolicy> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 5, 0, 0));
  const sink = memorySink();
  const logger = createLogger({ level: 'trace', sinks: [sink] });
  const connector = new FakeConnector();
  let n = 0;
  const manager = new PaymentManager({ policy: { ...DEFAULT_PAYMENT_POLICY, ...policy }, connector, clock, logger, newSessionId: () => `s${++n}` });
  const uplink = new FakeUplink();
  const progress: PaymentSnapshot[] = [];
  const ended: PaymentSnapshot[] = [];
  const alarms: unknown[] = [];
  manager.on('progress', (s) => progress.push(s));
  manager.on('ended', (s) => ended.push(s));
  manager.on('masking-alarm', (a) => alarms.push(a));
  const expiry = futureExpiry(clock.now());
  const press = (callId: string, keys: string, secure = true) => {
    for (const code of keyCodes(keys)) manager.key(callId, { code, secure });
  };
  /** Every text the session controls: log lines, events, snapshots. */
  const texts = (): string[] => [...sink.records.map((r) => JSON.stringify({ m: r.msg, f: r.fields })), ...progress.map((p) => JSON.stringify(p)), ...ended.map((e) => JSON.stringify(e))];
  const rig = { clock, sink, manager, connector, uplink, progress, ended, alarms, expiry, press, texts };
  rigs.push(rig);
  return rig;
}

function request(over: Partial<PaymentRequest> = {}): PaymentRequest {
  return { requestId: 'r1', callId: 'c1', fields: ['card-number', 'expiry', 'security-code'], amountMinor: 1999, currency: 'USD', reference: 'order-42', ...over };
}

describe('secure: payment session state machine', () => {
  // Every test: no test card, expiry or security code in any log line, event or snapshot it produced.
  afterEach(() => {
    for (const r of rigs.splice(0)) {
      const texts = r.texts();
      for (const pan of Object.values(TEST_CARDS)) assertNoCardData(texts, { pan });
      assertNoCardData(texts, { expiry: r.expiry, cvv: CVV });
    }
  });

  it('collects card number, expiry and security code, seals, wipes, submits and ends approved', async () => {
    const t = setup();
    t.connector.expect = { pan: TEST_CARDS.visa, expiry: t.expiry, cvv: CVV };
    const snap = t.manager.start(request(), t.uplink);
    assert.equal(snap.state, 'collecting');
    assert.equal(snap.field, 'card-number');
    assert.equal(t.uplink.secure, true);
    t.press('c1', TEST_CARDS.visa);
    assert.equal(t.progress.at(-1)?.field, 'expiry');
    const card = t.progress.at(-1)?.fields[0];
    assert.deepEqual(card, { field: 'card-number', count: 16, complete: true, valid: true, brand: 'visa', last4: '1111' });
    t.press('c1', t.expiry + CVV);
    assert.equal(t.progress.at(-1)?.state, 'submitting');
    await settle();
    assert.equal(t.ended.length, 1);
    const end = t.ended[0];
    assert.equal(end?.state, 'approved');
    assert.equal(end?.result?.processorReference, 'ref-1');
    assert.equal(end?.result?.last4, '1111');
    assert.equal(end?.result?.brand, 'visa');
    assert.equal(t.connector.sealed[0]?.matched, true, 'the connector received the keyed digits');
    for (const s of t.connector.received) {
      assert.equal(s.cardNumber?.length, 0, 'card number wiped after sealing');
      assert.equal(s.cardNumber?.destroyed, true);
      assert.equal(s.securityCode?.length, 0);
      assert.equal(s.expiry?.length, 0);
    }
    assert.equal(t.connector.orders[0]?.idempotencyKey, 's1');
    assert.equal(t.connector.orders[0]?.amountMinor, 1999);
    assert.equal(t.uplink.secure, false, 'secure mode left at the end');
    assert.equal(t.clock.pending, 0, 'timers cleared');
    assertNoCardData(t.texts(), { pan: TEST_CARDS.visa, expiry: t.expiry, cvv: CVV });
  });

  it('ends declined with the processor reason', async () => {
    const t = setup();
    t.connector.result = { outcome: 'declined', reason: 'cvv-mismatch', reference: 'ref-9' };
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.mastercard + t.expiry + '000');
    await settle();
    assert.equal(t.ended[0]?.state, 'declined');
    assert.equal(t.ended[0]?.result?.reason, 'cvv-mismatch');
    assertNoCardData(t.texts(), { pan: TEST_CARDS.mastercard, expiry: t.expiry });
  });

  it('processor error and a sealing failure end with error, the call untouched', async () => {
    const t = setup();
    t.connector.result = { outcome: 'error', reason: 'unreachable' };
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.amex + t.expiry + '1234');
    await settle();
    assert.equal(t.ended[0]?.state, 'error');
    assert.equal(t.ended[0]?.result?.reason, 'unreachable');
    const u = setup();
    u.connector.sealError = new Error('key missing');
    u.manager.start(request(), u.uplink);
    u.press('c1', TEST_CARDS.visa + u.expiry + CVV);
    await settle();
    assert.equal(u.ended[0]?.state, 'error');
    assert.equal(u.ended[0]?.result?.reason, 'seal-failed');
    assert.equal(u.connector.received[0]?.cardNumber?.destroyed, true);
    assert.equal(u.uplink.secure, false);
  });

  it('* clears the current field and # ends it (defaults); letters and non-secure keys go nowhere', () => {
    const t = setup();
    t.manager.start(request({ fields: ['card-number'] }), t.uplink);
    t.press('c1', '4111*');
    assert.equal(t.progress.at(-1)?.fields[0]?.count, 0);
    t.manager.key('c1', { code: 3, secure: true }); // 'A'
    t.press('c1', '4', false);
    assert.equal(t.progress.length >= 1, true);
    assert.equal(t.manager.status('s1').fields[0]?.count, 0);
    assert.equal(t.manager.status('s1').discardedKeys, 2);
    t.press('c1', TEST_CARDS.visa13 + '#');
    assert.equal(t.manager.status('s1').state, 'submitting');
  });

  it('an end key after a field that completed by itself is discarded, not an empty entry or an attempt', () => {
    const t = setup({ maxAttemptsPerField: 1 });
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.visa + '#');
    const s = t.manager.status('s1');
    assert.equal(s.state, 'collecting');
    assert.equal(s.field, 'expiry');
    assert.deepEqual(s.fields[1], { field: 'expiry', count: 0, complete: false, valid: false });
    assert.equal(s.discardedKeys, 1);
    t.press('c1', t.expiry + '#' + CVV);
    assert.equal(t.manager.status('s1').state, 'submitting');
  });

  it('configurable keys: # clears and * ends when the policy says so', () => {
    const t = setup({ clearKey: 'hash', endKey: 'star' });
    t.manager.start(request({ fields: ['postcode'] }), t.uplink);
    t.press('c1', '12#');
    assert.equal(t.manager.status('s1').fields[0]?.count, 0);
    t.press('c1', '9410*');
    assert.equal(t.manager.status('s1').state, 'submitting');
  });

  it('pay.clear_field clears the named field and collection resumes there', () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.visa + '12');
    const s = t.manager.clearField('s1', 'card-number');
    assert.equal(s.field, 'card-number');
    assert.equal(s.fields[0]?.count, 0);
    assert.equal(s.fields[0]?.last4, undefined);
    assert.equal(s.fields[1]?.count, 2);
    t.press('c1', TEST_CARDS.visaAlt);
    assert.equal(t.manager.status('s1').field, 'expiry');
    assert.throws(() => t.manager.clearField('s1', 'postcode'), { code: 'ESECURE_FIELD' });
  });

  it('pay.clear_field of the card number after all but the last field also clears the security code', () => {
    const t = setup();
    t.manager.start(request({ fields: ['card-number', 'expiry', 'security-code', 'postcode'] }), t.uplink);
    t.press('c1', TEST_CARDS.visa + t.expiry + CVV + '94');
    const s = t.manager.clearField('s1', 'card-number');
    assert.deepEqual(s.fields.map((f) => f.count), [0, 4, 0, 2]);
    t.press('c1', TEST_CARDS.amex);
    assert.equal(t.manager.status('s1').field, 'security-code');
    t.press('c1', '123');
    assert.equal(t.manager.status('s1').field, 'security-code', 'Amex needs 4 digits');
    t.press('c1', '4');
    assert.equal(t.manager.status('s1').field, 'postcode');
  });

  it('pay.cancel ends the session cancelled, leaves secure mode and wipes', () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.visa.slice(0, 8));
    const s = t.manager.cancel('s1');
    assert.equal(s.state, 'cancelled');
    assert.equal(s.result?.reason, 'agent');
    assert.equal(t.uplink.secure, false);
    assert.equal(t.clock.pending, 0);
    assert.throws(() => t.manager.cancel('s1'), { code: 'ESECURE_UNKNOWN_SESSION' });
    assert.equal(t.manager.status('s1').state, 'cancelled', 'status of a remembered ended session');
  });

  it('pay.status reports the current field and counts without digits', () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.press('c1', '41111');
    const s = t.manager.status('s1');
    assert.equal(s.field, 'card-number');
    assert.deepEqual(s.fields[0], { field: 'card-number', count: 5, complete: false, valid: false, brand: 'visa' });
    assert.throws(() => t.manager.status('nope'), { code: 'ESECURE_UNKNOWN_SESSION' });
  });

  it('start is idempotent by request id; a second active session on the call is refused', () => {
    const t = setup();
    const a = t.manager.start(request(), t.uplink);
    const b = t.manager.start(request(), t.uplink);
    assert.equal(a.sessionId, b.sessionId);
    assert.equal(t.uplink.enters, 1);
    assert.throws(() => t.manager.start(request({ requestId: 'r2' }), t.uplink), { code: 'ESECURE_BUSY' });
    assert.throws(() => t.manager.start(request({ callId: 'c2' }), t.uplink), { code: 'ESECURE_REQUEST_ID' });
  });

  it('field timeout: no key in the current field for fieldTimeoutMs ends timed-out', () => {
    const t = setup();
    t.manager.start(request({ fieldTimeoutMs: 10_000 }), t.uplink);
    t.clock.advance(9_000);
    t.press('c1', '4');
    t.clock.advance(9_000);
    assert.equal(t.ended.length, 0, 'each key re-arms the field timer');
    t.clock.advance(1_000);
    assert.equal(t.ended[0]?.state, 'timed-out');
    assert.equal(t.ended[0]?.result?.reason, 'field-timeout');
    assert.equal(t.uplink.secure, false);
    assert.equal(t.clock.pending, 0);
  });

  it('session timeout ends timed-out even while keys keep coming', () => {
    const t = setup();
    t.manager.start(request({ sessionTimeoutMs: 20_000, fieldTimeoutMs: 15_000 }), t.uplink);
    for (let i = 0; i < 4; i++) {
      t.clock.advance(5_000);
      t.press('c1', i === 3 ? '' : '4*');
    }
    assert.equal(t.ended[0]?.result?.reason, 'session-timeout');
  });

  it('hang-up mid-entry cancels with reason hangup and wipes', () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.visa.slice(0, 10));
    t.manager.hangup('c1');
    assert.equal(t.ended[0]?.state, 'cancelled');
    assert.equal(t.ended[0]?.result?.reason, 'hangup');
    assert.equal(t.manager.activeSessionOf('c1'), undefined);
  });

  it('a masking failure mid-session ends it with an error; the call can take another payment', async () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.press('c1', '4111');
    t.uplink.faulted = true;
    t.manager.maskingFault('c1');
    assert.equal(t.ended[0]?.state, 'error');
    assert.equal(t.ended[0]?.result?.reason, 'masking-fault');
    assert.equal(t.ended[0]?.result?.masking.faulted, true);
    assert.equal(t.uplink.secure, true, 'fail closed: the uplink stays muted for the fault hold');
    const released: unknown[] = [];
    t.manager.on('uplink-released', (r) => released.push(r));
    t.clock.advance(DEFAULT_PAYMENT_POLICY.faultHoldMs - 1);
    assert.equal(t.uplink.secure, true);
    t.clock.advance(1);
    assert.equal(t.uplink.secure, false);
    assert.deepEqual(released, [{ sessionId: 's1', callId: 'c1' }]);
    t.manager.start(request({ requestId: 'r2' }), t.uplink);
    t.press('c1', TEST_CARDS.visa + t.expiry + CVV);
    await settle();
    assert.equal(t.ended[1]?.state, 'approved');
  });

  it('a new session during the fault hold takes the uplink over; a hang-up releases it', () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.manager.maskingFault('c1');
    t.manager.start(request({ requestId: 'r2' }), t.uplink);
    assert.deepEqual([t.uplink.enters, t.uplink.exits, t.uplink.secure], [2, 1, true]);
    t.manager.maskingFault('c1');
    t.manager.hangup('c1');
    assert.deepEqual([t.uplink.enters, t.uplink.exits, t.uplink.secure], [2, 2, false]);
    assert.equal(t.clock.pending, 0);
  });

  it('two payments on one call in sequence, each with its own masking record', async () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    t.uplink.maskedTones += 22;
    t.press('c1', TEST_CARDS.visa + t.expiry + CVV);
    await settle();
    t.manager.start(request({ requestId: 'r2' }), t.uplink);
    t.uplink.maskedTones += 19;
    t.press('c1', TEST_CARDS.amex + t.expiry + '1234');
    await settle();
    assert.deepEqual(t.ended.map((e) => [e.sessionId, e.state, e.result?.last4, e.result?.masking.maskedTones]), [
      ['s1', 'approved', '1111', 22],
      ['s2', 'approved', '0005', 19],
    ]);
    assert.equal(t.uplink.enters, 2);
    assert.equal(t.uplink.exits, 2);
    assertNoCardData(t.texts(), { pan: TEST_CARDS.amex });
  });

  it('too many rejected entries of a field end the session with an error', () => {
    const t = setup({ maxAttemptsPerField: 2 });
    t.manager.start(request(), t.uplink);
    t.press('c1', '4111*4111*', true);
    t.press('c1', '5555555555554445');
    assert.equal(t.ended.length, 0);
    t.press('c1', '5555555555554445');
    assert.equal(t.ended[0]?.result?.reason, 'attempts-exhausted');
  });

  it('policy: the uplink is blanked while the security code is keyed', async () => {
    const t = setup({ blankDuringSecurityCode: true });
    t.manager.start(request(), t.uplink);
    t.press('c1', TEST_CARDS.visa + t.expiry);
    assert.deepEqual(t.uplink.blanking, [true]);
    t.press('c1', CVV);
    assert.deepEqual(t.uplink.blanking, [true, false]);
    await settle();
  });

  it('second check: a DTMF tone in the encoded uplink raises a masking alarm; clean audio does not', async () => {
    const t = setup();
    t.manager.start(request(), t.uplink);
    const silence = new Uint8Array(160).fill(0xff);
    for (let i = 0; i < 20; i++) t.manager.observePayload('c1', silence, 'ulaw');
    t.press('c1', TEST_CARDS.visa + t.expiry + CVV);
    await settle();
    assert.equal(t.ended[0]?.result?.masking.clean, true);
    assert.equal(t.ended[0]?.result?.masking.secondCheck.ran, true);
    assert.equal(t.alarms.length, 0);
    t.manager.start(request({ requestId: 'r2' }), t.uplink);
    const leaked = encode('ulaw', dtmfTone('5', { durationMs: 60 }));
    t.manager.observePayload('c1', leaked, 'ulaw');
    t.manager.cancel('s2');
    assert.equal(t.ended[1]?.result?.masking.clean, false);
    assert.deepEqual(t.alarms, [{ sessionId: 's2', callId: 'c1', digitsFound: 1 }]);
  });
});
