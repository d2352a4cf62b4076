import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { executePayCommand, parsePayCommand, parsePayInfoBody } from '../../../controller/secure/pay-commands';
import { PaymentManager } from '../../../controller/secure/payment-manager';
import { DEFAULT_PAYMENT_POLICY } from '../../../controller/secure/payment-types';
import { ManualClock } from '../../lib/manual-clock';
import { FakeConnector, FakeUplink } from '../../lib/secure-fakes';
import { assertNoCardData, keyCodes, TEST_CARDS } from '../../lib/secure-cards';

describe('secure: agent commands (MQTT pay.* and SIP INFO body)', () => {
  const start = { requestId: 'r-1', callId: 'call-1', amountMinor: 500, currency: 'GBP', reference: 'inv-3' };

  function rig() {
    const m = new PaymentManager({ policy: DEFAULT_PAYMENT_POLICY, connector: new FakeConnector(), clock: new ManualClock(), logger: nullLogger, newSessionId: () => 'sess-1' });
    const uplink = new FakeUplink();
    const uplinkOf = (callId: string) => (callId === 'call-1' ? uplink : undefined);
    return { m, uplink, uplinkOf };
  }

  it('start, status, clear_field and cancel reply { ok: true, data: snapshot }', () => {
    const { m, uplink, uplinkOf } = rig();
    const started = executePayCommand(m, parsePayCommand('start', start), uplinkOf);
    assert.ok(started.ok);
    assert.equal(started.data.state, 'collecting');
    assert.equal(uplink.secure, true);
    for (const code of keyCodes('4111')) m.key('call-1', { code, secure: true });
    const status = executePayCommand(m, parsePayCommand('status', { sessionId: 'sess-1' }), uplinkOf);
    assert.ok(status.ok && status.data.fields[0]?.count === 4);
    const cleared = executePayCommand(m, parsePayCommand('clear_field', { sessionId: 'sess-1', field: 'card-number' }), uplinkOf);
    assert.ok(cleared.ok && cleared.data.fields[0]?.count === 0);
    const cancelled = executePayCommand(m, parsePayCommand('cancel', { sessionId: 'sess-1' }), uplinkOf);
    assert.ok(cancelled.ok && cancelled.data.state === 'cancelled');
    assert.equal(uplink.secure, false);
  });

  it('errors reply { ok: false, error } with a code: no such call, unknown session, busy', () => {
    const { m, uplinkOf } = rig();
    assert.deepEqual(executePayCommand(m, parsePayCommand('start', { ...start, callId: 'gone' }), uplinkOf), {
      ok: false,
      error: { code: 'ESECURE_NO_CALL', message: 'call gone is not up' },
    });
    const r = executePayCommand(m, parsePayCommand('cancel', { sessionId: 'nope' }), uplinkOf);
    assert.ok(!r.ok && r.error.code === 'ESECURE_UNKNOWN_SESSION');
    executePayCommand(m, parsePayCommand('start', start), uplinkOf);
    const busy = executePayCommand(m, parsePayCommand('start', { ...start, requestId: 'r-2' }), uplinkOf);
    assert.ok(!busy.ok && busy.error.code === 'ESECURE_BUSY');
  });

  it('refuses unknown actions and bad parameters', () => {
    assert.throws(() => parsePayCommand('refund', {}), { code: 'ESECURE_ACTION' });
    assert.throws(() => parsePayCommand('cancel', {}), { code: 'ESECURE_REQUEST', message: /sessionId/ });
    assert.throws(() => parsePayCommand('clear_field', { sessionId: 's', field: 'pin' }), { code: 'ESECURE_REQUEST' });
  });

  it('an unknown parameter whose name looks like a card number is not echoed in the error; others are named', () => {
    assert.throws(() => parsePayCommand('cancel', { sessionId: 's', other: 1 }), { message: /Unrecognized key: "other"/ });
    try {
      parsePayCommand('cancel', { sessionId: 's', [TEST_CARDS.visa]: 1 });
      assert.fail('accepted');
    } catch (err) {
      assert.match(String(err), /withheld/);
      assertNoCardData([String(err)], { pan: TEST_CARDS.visa });
    }
  });

  it('fromCallId confines session commands to that call (SIP INFO): another call\'s session is unknown', () => {
    const { m, uplinkOf } = rig();
    executePayCommand(m, parsePayCommand('start', start), uplinkOf);
    const other = executePayCommand(m, parsePayCommand('cancel', { sessionId: 'sess-1' }), uplinkOf, 'call-2');
    assert.ok(!other.ok && other.error.code === 'ESECURE_UNKNOWN_SESSION');
    assert.equal(m.status('sess-1').state, 'collecting');
    const own = executePayCommand(m, parsePayCommand('status', { sessionId: 'sess-1' }), uplinkOf, 'call-1');
    assert.ok(own.ok && own.data.state === 'collecting');
  });

  it('SIP INFO body: the dialog gives the call id; a different callId in the body is refused', () => {
    const body = (o: unknown) => Buffer.from(JSON.stringify(o));
    const { requestId, amountMinor, currency, reference } = start;
    const cmd = parsePayInfoBody(body({ action: 'start', requestId, amountMinor, currency, reference }), 'call-7');
    assert.ok(cmd.action === 'start' && cmd.request.callId === 'call-7');
    assert.deepEqual(parsePayInfoBody(body({ action: 'status', sessionId: 's1' }), 'call-7'), { action: 'status', sessionId: 's1' });
    assert.throws(() => parsePayInfoBody(body({ action: 'start', ...start }), 'call-7'), { code: 'ESECURE_REQUEST', message: /does not match the dialog/ });
    assert.throws(() => parsePayInfoBody(Buffer.from('{'), 'call-7'), { code: 'ESECURE_REQUEST' });
    assert.throws(() => parsePayInfoBody(body([1]), 'call-7'), { code: 'ESECURE_REQUEST' });
    assert.throws(() => parsePayInfoBody(body({ sessionId: 's' }), 'call-7'), { code: 'ESECURE_REQUEST', message: /needs "action"/ });
  });
});
