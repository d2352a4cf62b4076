import assert from 'node:assert/strict';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { nullLogger } from '../../../hw/base/logger';
import { TonewallError } from '../../../hw/base/errors';
import type { TelephonyCard } from '../../../hw/card/types';
import { CallManager } from '../../../controller/call/call-manager';
import type { CallEventType, CallRecord } from '../../../controller/call/call';
import type { InfoRequest, MediaLeg } from '../../../controller/call/ports';
import type { PstnTrunkEvents } from '../../../controller/pstn/types';
import { FakeCard, FakeLeg, FakeMedia, FakePstnCall } from '../../lib/call-fakes';

const tick = () => new Promise((r) => setImmediate(r));

async function setup(media: MediaLeg = new FakeMedia()) {
  const card = new FakeCard();
  const trunk = new TypedEmitter<PstnTrunkEvents>();
  const leg = new FakeLeg();
  const events: { event: CallEventType; record: CallRecord }[] = [];
  const mgr = new CallManager({
    card: card as unknown as TelephonyCard,
    trunk,
    sip: { invite: () => leg },
    media: { open: () => Promise.resolve(media) },
    recorder: { changed: (record, event) => events.push({ event, record: { ...record } }) },
    log: nullLogger,
    contactCenterUri: 'sip:{called}@cc.example.net',
    callIdHeader: 'X-Tonewall-Call-Id',
    newCallId: () => 'call-0001',
  });
  mgr.start();
  const pstn = new FakePstnCall({ trunk: 'port/1', port: 1, channel: 1, callerNumber: '5551234567', callerName: 'ALICE', calledNumber: '100' });
  trunk.emit('incoming', pstn);
  await tick();
  return { card, leg, media, events, mgr, pstn };
}

function legInfo(contentType: string, body: string, infoPackage?: string) {
  return { contentType, body: Buffer.from(body), infoPackage };
}

describe('call manager: SIP INFO on the dialog (RFC 6086)', () => {
  it('§4.2.2 an INFO reaches the one handler with the appliance call id, and its reply is what the peer gets', async () => {
    const { mgr, leg } = await setup();
    const seen: InfoRequest[] = [];
    mgr.onInfo((req) => {
      seen.push(req);
      return { status: 200, contentType: 'application/json', body: Buffer.from('{"ok":true}') };
    });
    assert.ok(leg.info, 'the call put an INFO handler on its SIP leg');
    const reply = await leg.info(legInfo('application/json', '{"cmd":"pay.start"}'));
    assert.deepEqual(seen.map((r) => ({ callId: r.callId, ct: r.contentType, body: r.body.toString() })), [{ callId: 'call-0001', ct: 'application/json', body: '{"cmd":"pay.start"}' }]);
    assert.equal(reply.status, 200);
    assert.equal(reply.body?.toString(), '{"ok":true}');
  });

  it('§4.2.2 without a handler: 469 for an Info-Package, 415 for a body, 200 for an empty INFO', async () => {
    const { leg } = await setup();
    assert.ok(leg.info);
    assert.equal((await leg.info(legInfo('application/x-foo', 'x', 'foo'))).status, 469);
    assert.equal((await leg.info(legInfo('application/json', '{}'))).status, 415);
    assert.equal((await leg.info(legInfo('', ''))).status, 200);
  });

  it('§4.2.2 with a handler: an INFO naming an Info-Package we never announced is still 469, the handler never sees it', async () => {
    const { mgr, leg } = await setup();
    assert.ok(leg.info);
    let seen = 0;
    mgr.onInfo(() => (seen++, { status: 200 }));
    assert.equal((await leg.info(legInfo('application/x-foo', 'x', 'foo'))).status, 469);
    assert.equal(seen, 0);
    assert.equal((await leg.info(legInfo('application/json', '{}'))).status, 200);
    assert.equal(seen, 1);
  });

  it('a handler status outside 200..699 is answered 500; an async handler is awaited', async () => {
    const { mgr, leg } = await setup();
    assert.ok(leg.info);
    mgr.onInfo(() => ({ status: 99 }));
    assert.equal((await leg.info(legInfo('application/json', '{}'))).status, 500);
    mgr.onInfo(async () => Promise.resolve({ status: 488, reason: 'Not Acceptable Here' }));
    assert.equal((await leg.info(legInfo('application/json', '{}'))).status, 488);
  });

  it('sendInfo: rejects for an unknown call and before the answer; after it, the leg sends and the final status comes back', async () => {
    const { mgr, leg } = await setup();
    await assert.rejects(mgr.sendInfo('nope', 'application/json', Buffer.from('{}')), (e: unknown) => e instanceof TonewallError && e.code === 'ECALL_UNKNOWN' && /nope/.test(e.message));
    await assert.rejects(mgr.sendInfo('call-0001', 'application/json', Buffer.from('{}')), (e: unknown) => e instanceof TonewallError && e.code === 'ECALL_NO_DIALOG');
    leg.emit('answered', 'v=0 (answer)');
    await tick();
    leg.infoStatus = 202;
    assert.equal(await mgr.sendInfo('call-0001', 'application/json', Buffer.from('{"digits":3}')), 202);
    assert.deepEqual(leg.infosSent.map((i) => [i.contentType, i.body.toString()]), [['application/json', '{"digits":3}']]);
  });
});

describe('call: early media, local ringback, Reason (RFC 3261 §13.2.1, RFC 3326)', () => {
  it('183 with SDP applies the answer early: the caller hears the far end (downlink only) before the answer; the same SDP in the 2xx is not applied twice', async () => {
    const { leg, media, card, mgr } = await setup();
    const m = media as FakeMedia;
    leg.emit('progress', 183, 'Session Progress');
    leg.emit('early-media', 'v=0 (early)');
    assert.deepEqual(m.applied, ['v=0 (early)']);
    assert.equal(mgr.get('call-0001')?.state, 'alerting');
    card.emit('pcm', 1, Buffer.alloc(80, 3));
    assert.equal(card.written.length, 1, 'downlink audio to the caller');
    assert.equal(m.fromCardChunks.length, 0, 'no uplink before the answer');
    assert.deepEqual(m.tones, [], 'no local ringback while early media plays');
    leg.emit('answered', 'v=0 (early)');
    await tick();
    assert.deepEqual(m.applied, ['v=0 (early)']);
    assert.equal(mgr.get('call-0001')?.state, 'active');
  });

  it('180 without SDP starts local ringback, stopped when early media arrives', async () => {
    const { leg, media } = await setup();
    const m = media as FakeMedia;
    leg.emit('progress', 180, 'Ringing');
    assert.deepEqual(m.tones, ['ringback']);
    leg.emit('progress', 183, 'Session Progress');
    leg.emit('early-media', 'v=0 (announcement)');
    assert.deepEqual(m.tones, ['ringback', null]);
  });

  it('a media leg without setLocalTone gets no downlink before the answer after a 180', async () => {
    const plain: MediaLeg = {
      sdpOffer: 'v=0',
      applyAnswer: () => ({ codec: 'PCMU' }),
      fromCard: () => undefined,
      toCard: () => Buffer.alloc(80),
      stats: () => ({ packetsSent: 0, packetsReceived: 0 }),
      close: () => undefined,
    };
    const { leg, card } = await setup(plain);
    leg.emit('progress', 180, 'Ringing');
    card.emit('pcm', 1, Buffer.alloc(80));
    assert.equal(card.written.length, 0);
  });

  it('RFC 3326: a Reason cause on the failure response wins over the RFC 3398 status mapping', async () => {
    const { leg, pstn, events } = await setup();
    leg.emit('failed', 503, 'Service Unavailable', 34);
    assert.deepEqual(pstn.hangups, [{ q850: 34, reason: 'SIP 503 Service Unavailable' }]);
    assert.equal(events.at(-1)?.record.q850, 34);
  });

  it('RFC 3326: the Reason cause of the contact center\'s BYE goes to the PSTN release', async () => {
    const { leg, pstn } = await setup();
    leg.emit('answered', 'v=0');
    await tick();
    leg.emit('ended', 'remote', 'BYE', 31);
    assert.deepEqual(pstn.hangups, [{ q850: 31, reason: 'BYE' }]);
  });

  it('a local hang-up (fleet command) BYEs with its Q.850 cause and ends the PSTN leg with the same', async () => {
    const { leg, pstn, mgr } = await setup();
    leg.emit('answered', 'v=0');
    await tick();
    await mgr.get('call-0001')?.hangup('fleet command', 21);
    assert.deepEqual(leg.byes, [{ cause: 21, text: 'fleet command' }]);
    assert.deepEqual(pstn.hangups, [{ q850: 21, reason: 'fleet command' }]);
  });
});

describe('call: re-INVITE/UPDATE offers from the contact center (RFC 3264 §8)', () => {
  it('the media leg answers the new offer and the record takes the new codec', async () => {
    const { leg, media, events, mgr } = await setup();
    leg.emit('answered', 'v=0');
    await tick();
    assert.ok(leg.offer);
    assert.equal(leg.offer('v=0 hold a=sendonly PCMA'), 'answer to v=0 hold a=sendonly PCMA');
    assert.deepEqual((media as FakeMedia).offers, ['v=0 hold a=sendonly PCMA']);
    assert.equal(mgr.get('call-0001')?.record.codec, 'PCMA');
    assert.ok(events.length >= 2);
  });

  it('an unusable offer throws (the SIP layer answers 488) and the call stays up', async () => {
    const { leg, mgr } = await setup();
    leg.emit('answered', 'v=0');
    await tick();
    assert.ok(leg.offer);
    const offer = leg.offer;
    assert.throws(() => offer('bad'), /no common codec/);
    assert.equal(mgr.get('call-0001')?.state, 'active');
  });
});
