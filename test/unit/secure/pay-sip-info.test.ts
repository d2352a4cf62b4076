/**
 * Payments over SIP INFO on the call's dialog (controller/app/pay-sip-info.ts, docs/payments.md §3):
 * commands in (200 / 400 / 415), masked progress and the result out as INFOs, one at a time per call.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nullLogger } from '../../../hw/base/logger';
import { answerPayInfo, attachPaySipInfo, mediaType, PAY_INFO_CONTENT_TYPE, PAY_INFO_MAX_BODY_BYTES, type PayInfoReply } from '../../../controller/app/pay-sip-info';
import { PaymentManager } from '../../../controller/secure/payment-manager';
import { DEFAULT_PAYMENT_POLICY } from '../../../controller/secure/payment-types';
import { ManualClock } from '../../lib/manual-clock';
import { FakeConnector, FakeUplink, settle } from '../../lib/secure-fakes';
import { FakeInfoCalls, ManagerPayments } from '../../lib/secure-info-fakes';
import { assertNoCardData, futureExpiry, keyCodes, TEST_CARDS } from '../../lib/secure-cards';

const CT = PAY_INFO_CONTENT_TYPE;
const START = { action: 'start', requestId: 'r-1', amountMinor: 1999, currency: 'EUR', reference: 'order-5' };

interface ReplyBody {
  ok: boolean;
  data?: { sessionId: string; callId: string; state: string; fields: { count: number }[] };
  error?: { code: string; message: string };
}

function body(reply: PayInfoReply): ReplyBody {
  assert.ok(reply.body, `status ${reply.status} has a body`);
  return JSON.parse(reply.body.toString('utf8')) as ReplyBody;
}

function rig(updates?: 'calls-that-asked' | 'all-calls') {
  const clock = new ManualClock();
  const connector = new FakeConnector();
  let n = 0;
  const manager = new PaymentManager({ policy: DEFAULT_PAYMENT_POLICY, connector, clock, logger: nullLogger, newSessionId: () => `sess-${++n}` });
  const uplinks = new Map([
    ['call-a', new FakeUplink()],
    ['call-b', new FakeUplink()],
  ]);
  const calls = new FakeInfoCalls('call-a', 'call-b');
  attachPaySipInfo({ calls, payments: new ManagerPayments(manager, (id) => uplinks.get(id)), log: nullLogger, ...(updates ? { updates } : {}) });
  const key = (callId: string, keys: string) => {
    for (const code of keyCodes(keys)) manager.key(callId, { code, secure: true });
  };
  return { clock, connector, manager, uplinks, calls, key };
}

describe('app: payments over SIP INFO (pay-sip-info)', () => {
  it('start: 200 with the snapshot; the call id is the dialog\'s; the uplink goes secure', async () => {
    const r = rig();
    const reply = await r.calls.receive('call-a', CT, JSON.stringify({ ...START, fields: ['card-number', 'expiry'] }));
    assert.equal(reply.status, 200);
    assert.equal(reply.contentType, CT);
    const b = body(reply);
    assert.equal(b.ok, true);
    assert.equal(b.data?.callId, 'call-a');
    assert.equal(b.data?.state, 'collecting');
    assert.equal(b.data?.fields.length, 2);
    assert.equal(r.uplinks.get('call-a')?.secure, true);
    assert.equal(r.uplinks.get('call-b')?.secure, false);
  });

  it('start is idempotent by request id over INFO: the same session comes back, no second one', async () => {
    const r = rig();
    const first = body(await r.calls.receive('call-a', CT, JSON.stringify(START)));
    const again = body(await r.calls.receive('call-a', CT, JSON.stringify(START)));
    assert.equal(again.ok, true);
    assert.equal(again.data?.sessionId, first.data?.sessionId);
    assert.equal(r.manager.counters.started, 1);
    assert.equal(r.uplinks.get('call-a')?.enters, 1);
  });

  it('status, clear_field and cancel act on the dialog\'s own session', async () => {
    const r = rig();
    const sessionId = body(await r.calls.receive('call-a', CT, JSON.stringify(START))).data?.sessionId;
    r.key('call-a', '4111');
    const status = body(await r.calls.receive('call-a', CT, JSON.stringify({ action: 'status', sessionId })));
    assert.equal(status.data?.fields[0]?.count, 4);
    const cleared = body(await r.calls.receive('call-a', CT, JSON.stringify({ action: 'clear_field', sessionId, field: 'card-number' })));
    assert.equal(cleared.data?.fields[0]?.count, 0);
    const cancelled = await r.calls.receive('call-a', CT, JSON.stringify({ action: 'cancel', sessionId }));
    assert.equal(cancelled.status, 200);
    assert.equal(body(cancelled).data?.state, 'cancelled');
    assert.equal(r.uplinks.get('call-a')?.secure, false);
  });

  it('a session of another call is unknown on this dialog, and stays untouched', async () => {
    const r = rig();
    const sessionId = body(await r.calls.receive('call-a', CT, JSON.stringify(START))).data?.sessionId;
    for (const action of ['status', 'cancel', 'clear_field']) {
      const reply = await r.calls.receive('call-b', CT, JSON.stringify({ action, sessionId }));
      assert.equal(reply.status, 200);
      const b = body(reply);
      assert.equal(b.ok, false);
      assert.equal(b.error?.code, 'ESECURE_UNKNOWN_SESSION');
    }
    assert.equal(r.manager.status(sessionId ?? '').state, 'collecting');
    assert.equal(r.uplinks.get('call-a')?.secure, true);
  });

  it('a refused command is 200 { ok: false }: second session on a busy call, unknown session', async () => {
    const r = rig();
    await r.calls.receive('call-a', CT, JSON.stringify(START));
    const busy = body(await r.calls.receive('call-a', CT, JSON.stringify({ ...START, requestId: 'r-2' })));
    assert.equal(busy.error?.code, 'ESECURE_BUSY');
    const unknown = body(await r.calls.receive('call-a', CT, JSON.stringify({ action: 'status', sessionId: 'nope' })));
    assert.equal(unknown.error?.code, 'ESECURE_UNKNOWN_SESSION');
  });

  const malformed: [string, string | Buffer, RegExp][] = [
    ['not JSON', '{"action":', /not JSON/],
    ['a JSON array', '[1,2]', /not a JSON object/],
    ['no action', '{"sessionId":"s"}', /needs "action"/],
    ['an unknown action', '{"action":"refund","sessionId":"s"}', /"refund" is not one of start, clear_field, cancel, status/],
    ['a start without an amount', JSON.stringify({ action: 'start', requestId: 'r', currency: 'EUR', reference: 'x' }), /amountMinor/],
    ['a start naming another call', JSON.stringify({ ...START, callId: 'call-b' }), /does not match the dialog/],
    ['an unknown parameter', JSON.stringify({ action: 'cancel', sessionId: 's', extra: 1 }), /pay.cancel parameters rejected/],
    ['an oversized body', Buffer.alloc(PAY_INFO_MAX_BODY_BYTES + 1, 0x20), new RegExp(`exceeds ${PAY_INFO_MAX_BODY_BYTES}`)],
  ];
  for (const [name, text, why] of malformed) {
    it(`400 with the reason for ${name}; nothing started`, async () => {
      const r = rig();
      const reply = await r.calls.receive('call-a', CT, text);
      assert.equal(reply.status, 400);
      assert.match(reply.reason ?? '', why);
      assert.ok(/^[\x20-\x7e]+$/.test(reply.reason ?? ''), 'a printable reason phrase');
      const b = body(reply);
      assert.equal(b.ok, false);
      assert.match(b.error?.message ?? '', why);
      assert.equal(r.manager.counters.started, 0);
      assert.equal(r.uplinks.get('call-a')?.secure, false);
    });
  }

  it('never echoes a card-like key name in a 400', async () => {
    const r = rig();
    const reply = await r.calls.receive('call-a', CT, JSON.stringify({ action: 'cancel', sessionId: 's', [TEST_CARDS.visa]: 1 }));
    assert.equal(reply.status, 400);
    assertNoCardData([reply.reason ?? '', reply.body?.toString('utf8') ?? ''], { pan: TEST_CARDS.visa });
  });

  it('415 for any other content type (200 for an empty INFO); the media type is matched without parameters and case', async () => {
    const r = rig();
    for (const other of ['application/dtmf-relay', 'application/json', 'text/plain', '']) {
      const reply = await r.calls.receive('call-a', other, JSON.stringify(START));
      assert.equal(reply.status, 415, other);
      assert.deepEqual(JSON.parse(reply.body?.toString('utf8') ?? '{}'), { accept: [CT] });
    }
    assert.equal(r.manager.counters.started, 0);
    assert.equal((await r.calls.receive('call-a', '', Buffer.alloc(0))).status, 200, 'an INFO without a body (legacy keep-alive) is 200');
    assert.equal((await r.calls.receive('call-a', CT, Buffer.alloc(0))).status, 400, 'our content type with no body is no command');
    assert.equal(mediaType('Application/VND.Tonewall.Pay+JSON ; charset=utf-8'), CT);
    const ok = await r.calls.receive('call-a', 'Application/VND.Tonewall.Pay+JSON; charset=utf-8', JSON.stringify(START));
    assert.equal(ok.status, 200);
  });

  it('every masked progress update and the result go to the agent as INFOs on that call\'s dialog, with no digit', async () => {
    const r = rig();
    const expiry = futureExpiry(r.clock.now());
    await r.calls.receive('call-a', CT, JSON.stringify(START));
    r.key('call-a', TEST_CARDS.visa + expiry + '123');
    await settle();
    const sent = r.calls.sent.filter((s) => s.callId === 'call-a');
    assert.ok(sent.every((s) => s.contentType === CT));
    const snaps = r.calls.snapshots('call-a');
    assert.ok(snaps.length >= 3, `${snaps.length} INFOs`);
    const last = snaps[snaps.length - 1] as Record<string, unknown> & { result?: { outcome: string; last4?: string } };
    assert.equal(last.state, 'approved');
    assert.equal(last.result?.outcome, 'approved');
    assert.equal(last.result?.last4, '1111');
    // Counts only ever grow within a field as the caller keys (the agent sees the progress in order).
    const counts = snaps.map((s) => (s.fields as { count: number }[])[0]?.count ?? 0);
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
    assert.equal(r.calls.snapshots('call-b').length, 0, 'nothing on the other call');
    assertNoCardData(sent.map((s) => s.body.toString('utf8')), { pan: TEST_CARDS.visa, expiry, cvv: '123' });
  });

  it('no update INFO to a dialog that never spoke the pay content type (a session started over MQTT); all-calls sends anyway', async () => {
    const mqttStart = { requestId: 'm-1', callId: 'call-a', fields: ['card-number'] as const, amountMinor: 1, currency: 'EUR', reference: 'm' };
    const quiet = rig();
    quiet.manager.start(mqttStart, quiet.uplinks.get('call-a') ?? new FakeUplink());
    quiet.key('call-a', '4111');
    await settle();
    assert.equal(quiet.calls.sent.length, 0, 'a plain SIP peer gets no INFO it did not ask for');
    // Once the dialog speaks it (here a status), it gets the updates of that session, up to its end.
    const sessionId = quiet.manager.activeSessionOf('call-a');
    await quiet.calls.receive('call-a', CT, JSON.stringify({ action: 'status', sessionId }));
    quiet.key('call-a', '1');
    quiet.manager.cancel(sessionId ?? '');
    await settle();
    assert.deepEqual(quiet.calls.snapshots('call-a').map((s) => s.state), ['collecting', 'cancelled']);
    // The next session, started over MQTT again, is quiet on SIP again.
    quiet.manager.start({ ...mqttStart, requestId: 'm-2' }, quiet.uplinks.get('call-a') ?? new FakeUplink());
    await settle();
    assert.equal(quiet.calls.sent.length, 2);

    const loud = rig('all-calls');
    loud.manager.start(mqttStart, loud.uplinks.get('call-a') ?? new FakeUplink());
    loud.key('call-a', '4111');
    await settle();
    assert.ok(loud.calls.snapshots('call-a').length >= 1);
  });

  it('one INFO in flight per call; queued progress coalesces to the newest; the final result is never dropped', async () => {
    const r = rig();
    r.calls.hold = true;
    r.connector.hold = false;
    await r.calls.receive('call-a', CT, JSON.stringify({ ...START, fields: ['card-number'] }));
    // The start's first progress is in flight; sixteen keys while it is held.
    r.key('call-a', TEST_CARDS.mastercard);
    await settle();
    assert.equal(r.calls.sent.length, 1, 'nothing more sent while the first INFO is unanswered');
    while (r.calls.answer()) await settle();
    const snaps = r.calls.snapshots('call-a');
    assert.equal(r.calls.maxInFlight, 1);
    assert.ok(snaps.length <= 4, `${snaps.length} INFOs: progress coalesced`);
    assert.equal(snaps[snaps.length - 1]?.state, 'approved', 'the result arrives last');
    assert.ok(snaps.some((s) => s.state === 'submitting' || s.state === 'collecting'));
  });

  it('a call without a dialog any more: the update is dropped quietly, other calls carry on', async () => {
    const r = rig();
    await r.calls.receive('call-a', CT, JSON.stringify(START));
    await r.calls.receive('call-b', CT, JSON.stringify({ ...START, requestId: 'r-b' }));
    r.calls.live.delete('call-a');
    r.key('call-a', '4');
    r.key('call-b', '5');
    r.manager.hangup('call-a');
    await settle();
    const b = r.calls.snapshots('call-b');
    assert.equal((b[b.length - 1]?.fields as { count: number }[])[0]?.count, 1);
    r.key('call-b', '5');
    await settle();
    assert.equal((r.calls.snapshots('call-b').at(-1)?.fields as { count: number }[])[0]?.count, 2);
  });

  it('fuzz (fixed seed): any body, split, corrupted or random, gets 200, 400 or 415 with a printable reason; never a throw', () => {
    const r = rig();
    const payments = new ManagerPayments(r.manager, (id) => r.uplinks.get(id));
    const good = [
      JSON.stringify({ ...START, fields: ['card-number', 'expiry'], acceptedBrands: ['visa'], fieldTimeoutMs: 5000 }),
      JSON.stringify({ action: 'clear_field', sessionId: 'sess-1', field: 'expiry' }),
      JSON.stringify({ action: 'status', sessionId: 'sess-1' }),
    ].map((t) => Buffer.from(t, 'utf8'));
    const corrupted = fc.tuple(fc.nat(good.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([k, i, b, cut]) => {
      const g = good[k] ?? Buffer.alloc(0);
      const copy = Buffer.from(g.subarray(0, Math.max(1, cut % (g.length + 1))));
      copy[i % copy.length] = b;
      return copy;
    });
    const randomJson = fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8'));
    const withAction = fc.record({ action: fc.constantFrom('start', 'clear_field', 'cancel', 'status', 'x'), sessionId: fc.string(), requestId: fc.string(), amountMinor: fc.integer(), field: fc.string() }, { requiredKeys: ['action'] }).map((o) => Buffer.from(JSON.stringify(o), 'utf8'));
    const type = fc.constantFrom(CT, `${CT}; charset=utf-8`, 'APPLICATION/VND.TONEWALL.PAY+JSON', 'application/json', 'text/plain', '');
    fc.assert(
      fc.property(type, fc.oneof(corrupted, randomJson, withAction, fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u))), (contentType, raw) => {
        const { reply } = answerPayInfo({ callId: 'call-a', contentType, body: raw }, payments);
        assert.ok([200, 400, 415].includes(reply.status), `status ${reply.status}`);
        if (reply.reason !== undefined) assert.match(reply.reason, /^[\x20-\x7e]{1,120}$/);
        if (mediaType(contentType) !== CT) assert.equal(reply.status, raw.length === 0 ? 200 : 415);
        if (reply.status === 400) assert.equal(body(reply).ok, false);
      }),
      { numRuns: 10_000, seed: 6 },
    );
  });
});
