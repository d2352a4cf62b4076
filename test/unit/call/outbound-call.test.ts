import assert from 'node:assert/strict';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { nullLogger } from '../../../hw/base/logger';
import type { TelephonyCard } from '../../../hw/card/types';
import { CallManager } from '../../../controller/call/call-manager';
import type { CallEventType, CallRecord } from '../../../controller/call/call';
import type { RoutingRule } from '../../../controller/call/number-routing';
import type { PstnTrunkEvents } from '../../../controller/pstn/types';
import { FakeCard, FakeDialer, FakeInboundLeg, FakeMedia, FakeLeg } from '../../lib/call-fakes';

const tick = () => new Promise((r) => setImmediate(r));

async function setup(opts: { routing?: RoutingRule[]; dialer?: FakeDialer | null; leg?: FakeInboundLeg } = {}) {
  const card = new FakeCard();
  const media = new FakeMedia();
  const dialer = opts.dialer === null ? undefined : opts.dialer ?? new FakeDialer();
  const events: { event: CallEventType; record: CallRecord }[] = [];
  const mgr = new CallManager({
    card: card as unknown as TelephonyCard,
    trunk: new TypedEmitter<PstnTrunkEvents>(),
    sip: { invite: () => new FakeLeg() },
    media: { open: () => Promise.resolve(media) },
    recorder: { changed: (record, event) => events.push({ event, record: { ...record } }) },
    log: nullLogger,
    contactCenterUri: 'sip:{called}@cc.example.net',
    callIdHeader: 'X-Tonewall-Call-Id',
    newCallId: () => 'call-out-1',
    ...(dialer ? { dialer } : {}),
    routing: opts.routing ?? [{ prefix: '+44', strip: 3, prepend: '0', trunk: 'span/1' }],
  });
  mgr.start();
  const leg = opts.leg ?? new FakeInboundLeg();
  mgr.acceptSip(leg);
  await tick();
  return { card, media, dialer, events, mgr, leg };
}

describe('call manager: SIP → PSTN', () => {
  it('routes the Request-URI number (strip/prepend/trunk) and places the PSTN call with the caller from From', async () => {
    const { dialer, events, media } = await setup();
    assert.ok(dialer);
    assert.deepEqual(dialer.placed.map((p) => p.request), [{ calledNumber: '02071234567', callingNumber: '5551000', callingName: 'Agent', trunk: 'span/1' }]);
    assert.deepEqual(media.offers, ['v=0 (their offer PCMU)'], 'the SIP offer was answered by the media leg');
    assert.deepEqual(events.map((e) => e.event), ['call.started']);
    assert.equal(events[0]?.record.direction, 'outbound');
    assert.equal(events[0]?.record.calledNumber, '02071234567');
  });

  it('PSTN alerting → 180; answer → 200 with our SDP answer, then PCM both ways on the PSTN channel', async () => {
    const { dialer, leg, card, media, mgr, events } = await setup();
    const pstn = dialer?.placed[0]?.call;
    assert.ok(pstn);
    pstn.emit('progress', 'proceeding', false);
    assert.deepEqual(leg.sent, [], 'proceeding without in-band audio: the 100 Trying is enough');
    pstn.emit('progress', 'alerting', false);
    assert.deepEqual(leg.sent, ['180']);
    card.emit('pcm', 5, Buffer.alloc(80, 9));
    assert.equal(media.fromCardChunks.length, 0, 'no audio before the answer');
    pstn.emit('answered');
    assert.deepEqual(leg.sent, ['180', '200 answer to v=0 (their offer PCMU)']);
    assert.equal(mgr.get('call-out-1')?.state, 'active');
    card.emit('pcm', 5, Buffer.alloc(80, 9));
    assert.equal(media.fromCardChunks.length, 1);
    assert.equal(card.written[0]?.channel, 5);
    assert.deepEqual(events.map((e) => e.event), ['call.started', 'call.answered']);
  });

  it('PSTN progress with in-band audio → 183 with SDP (early media); the card audio flows before the answer', async () => {
    const { dialer, leg, card, media } = await setup();
    dialer?.placed[0]?.call.emit('progress', 'progress', true);
    assert.deepEqual(leg.sent, ['183 answer to v=0 (their offer PCMU)']);
    card.emit('pcm', 5, Buffer.alloc(80, 1));
    assert.equal(media.fromCardChunks.length, 1);
  });

  it('RFC 3398 §8.2.6.1: a PSTN release before answer (busy, 17) answers the INVITE 486 with Reason cause 17', async () => {
    const { dialer, leg, events, media } = await setup();
    dialer?.placed[0]?.call.release({ by: 'pstn', q850: 17, reason: 'user busy' });
    assert.deepEqual(leg.rejected, { status: 486, q850: { cause: 17, text: 'user busy' } });
    assert.equal(events.at(-1)?.event, 'call.ended');
    assert.equal(events.at(-1)?.record.sipStatus, 486);
    assert.equal(media.closed, 1);
  });

  it('CANCEL before the answer releases the PSTN leg with the Reason cause (else 16)', async () => {
    const a = await setup();
    a.leg.remoteEnd('CANCEL');
    assert.deepEqual(a.dialer?.placed[0]?.call.hangups, [{ q850: 16, reason: 'CANCEL' }]);
    const b = await setup();
    b.leg.remoteEnd('CANCEL', 19);
    assert.deepEqual(b.dialer?.placed[0]?.call.hangups, [{ q850: 19, reason: 'CANCEL' }]);
  });

  it('after the answer: BYE from SIP releases the PSTN leg; a PSTN release sends BYE with Reason', async () => {
    const a = await setup();
    a.dialer?.placed[0]?.call.emit('answered');
    a.leg.remoteEnd('BYE', 31);
    assert.deepEqual(a.dialer?.placed[0]?.call.hangups, [{ q850: 31, reason: 'BYE' }]);
    const b = await setup();
    b.dialer?.placed[0]?.call.emit('answered');
    b.dialer?.placed[0]?.call.release({ by: 'pstn', q850: 16, reason: 'called party hung up' });
    assert.deepEqual(b.leg.byes, [{ cause: 16, text: 'called party hung up' }]);
    assert.equal(b.mgr.activeCalls, 0);
  });

  it('refusals: no dialer 403/21, no route 404/1, no number 484/28, unusable offer 488 with no PSTN call', async () => {
    const noDialer = await setup({ dialer: null });
    assert.deepEqual(noDialer.leg.rejected?.status, 403);
    assert.equal(noDialer.leg.rejected?.q850.cause, 21);
    const noRoute = await setup({ leg: new FakeInboundLeg('sip:+15551234@gw') });
    assert.deepEqual([noRoute.leg.rejected?.status, noRoute.leg.rejected?.q850.cause], [404, 1]);
    const noNumber = await setup({ leg: new FakeInboundLeg('sip:agent@gw') });
    assert.deepEqual([noNumber.leg.rejected?.status, noNumber.leg.rejected?.q850.cause], [484, 28]);
    const badSdp = await setup({ leg: new FakeInboundLeg('sip:+442071234567@gw', 'bad') });
    assert.equal(badSdp.leg.rejected?.status, 488);
    assert.equal(badSdp.dialer?.placed.length, 0);
  });

  it('draining refuses SIP → PSTN calls 503 with Reason cause 34', async () => {
    const card = new FakeCard();
    const mgr = new CallManager({
      card: card as unknown as TelephonyCard,
      trunk: new TypedEmitter<PstnTrunkEvents>(),
      sip: { invite: () => new FakeLeg() },
      media: { open: () => Promise.resolve(new FakeMedia()) },
      recorder: { changed: () => undefined },
      log: nullLogger,
      contactCenterUri: 'sip:{called}@cc',
      callIdHeader: 'X-Tonewall-Call-Id',
      dialer: new FakeDialer(),
    });
    mgr.setDraining(true);
    const leg = new FakeInboundLeg();
    mgr.acceptSip(leg);
    await tick();
    assert.deepEqual([leg.rejected?.status, leg.rejected?.q850.cause], [503, 34]);
  });

  it('INFO on a SIP → PSTN call reaches the handler with the appliance call id', async () => {
    const { mgr, leg } = await setup();
    const ids: string[] = [];
    mgr.onInfo((req) => {
      ids.push(req.callId);
      return { status: 200 };
    });
    assert.ok(leg.info);
    assert.equal((await leg.info({ contentType: 'application/json', body: Buffer.from('{}'), infoPackage: undefined })).status, 200);
    assert.deepEqual(ids, ['call-out-1']);
  });
});
