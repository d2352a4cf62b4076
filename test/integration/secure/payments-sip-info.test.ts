/**
 * SIP INFO payments on the appliance's own PaymentsService (real UplinkDsp, temp SQLite, in-process
 * test processor over mutual TLS): an agent starts and steers a payment with INFO requests on the
 * call's dialog and receives every masked update as an INFO. The call manager is the strict fake of
 * test/lib/secure-info-fakes.ts (the SIP dialog side is tested with the SIP stack).
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { attachPaySipInfo, PAY_INFO_CONTENT_TYPE as CT } from '../../../controller/app/pay-sip-info';
import { requireOpenssl } from '../../lib/secure-certs';
import { assertNoCardData, futureExpiry, TEST_CARDS } from '../../lib/secure-cards';
import { keyedAudio } from '../../lib/secure-caller';
import { FakeInfoCalls } from '../../lib/secure-info-fakes';
import { startPaymentsService, type ServiceRig } from '../../lib/secure-service';

describe('secure: payments over SIP INFO on the PaymentsService (real UplinkDsp, test processor)', function () {
  this.timeout(20_000);
  let rig: ServiceRig | undefined;

  beforeEach(function () {
    requireOpenssl(this);
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('start by INFO, keys as audio, progress and the approved result back as INFOs on that dialog; nothing of the card in any INFO', async () => {
    rig = await startPaymentsService({ processor: { alg: 'ECDH-ES' } });
    const calls = new FakeInfoCalls('call-1', 'call-2');
    attachPaySipInfo({ calls, payments: rig.service, log: nullLogger });
    rig.uplink('call-1');
    rig.uplink('call-2');
    const reply = await calls.receive('call-1', CT, JSON.stringify({ action: 'start', requestId: 'agent-1', amountMinor: 4200, currency: 'GBP', reference: 'sip-1' }));
    assert.equal(reply.status, 200);
    const started = JSON.parse(reply.body?.toString('utf8') ?? '{}') as { ok: boolean; data: { sessionId: string; callId: string } };
    assert.equal(started.ok, true);
    assert.equal(started.data.callId, 'call-1');
    assert.equal(rig.uplink('call-1').mode, 'secure');
    // The other call's dialog cannot see or cancel it.
    const foreign = await calls.receive('call-2', CT, JSON.stringify({ action: 'cancel', sessionId: started.data.sessionId }));
    assert.equal(JSON.parse(foreign.body?.toString('utf8') ?? '{}').ok, false);

    const expiry = futureExpiry(Date.now());
    const ended = rig.nextEnd();
    rig.feed('call-1', keyedAudio(TEST_CARDS.jcb + expiry + '246'));
    const end = await ended;
    assert.equal(end.state, 'approved');
    await new Promise<void>((ok) => setImmediate(ok));

    const snaps = calls.snapshots('call-1');
    assert.ok(snaps.length >= 3, `${snaps.length} INFOs`);
    assert.ok(calls.sent.every((s) => s.contentType === CT && s.callId === 'call-1'));
    const last = snaps[snaps.length - 1] as { state: string; result?: { outcome: string; last4?: string; masking: { clean: boolean } } };
    assert.equal(last.state, 'approved');
    assert.equal(last.result?.last4, TEST_CARDS.jcb.slice(-4));
    assert.equal(last.result?.masking.clean, true);
    // What the agent saw by INFO is what the fleet saw on pay/{sessionId} and events/pay.
    assert.deepEqual(last, JSON.parse(JSON.stringify(end)));
    const status = await calls.receive('call-1', CT, JSON.stringify({ action: 'status', sessionId: started.data.sessionId }));
    assert.equal(JSON.parse(status.body?.toString('utf8') ?? '{}').data.state, 'approved');
    assertNoCardData([...calls.sent.map((s) => s.body.toString('utf8')), reply.body?.toString('utf8') ?? ''], { pan: TEST_CARDS.jcb, cvv: '246' });
    assertNoCardData(rig.texts(), { pan: TEST_CARDS.jcb, expiry, cvv: '246' });
  });
});
