import assert from 'node:assert/strict';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { nullLogger } from '../../../hw/base/logger';
import type { TelephonyCard } from '../../../hw/card/types';
import { CallManager } from '../../../controller/call/call-manager';
import type { CallEventType, CallRecord } from '../../../controller/call/call';
import type { InviteRequest } from '../../../controller/call/ports';
import { q850ToSipStatus, reasonHeader, sipStatusToQ850 } from '../../../controller/call/cause-map';
import type { PstnTrunkEvents } from '../../../controller/pstn/types';
import { FakeCard, FakeLeg, FakeMedia, FakePstnCall } from '../../lib/call-fakes';

async function setup() {
  const card = new FakeCard();
  const trunk = new TypedEmitter<PstnTrunkEvents>();
  const invites: InviteRequest[] = [];
  const leg = new FakeLeg();
  const media = new FakeMedia();
  const events: { event: CallEventType; record: CallRecord }[] = [];
  const mgr = new CallManager({
    card: card as unknown as TelephonyCard,
    trunk,
    sip: {
      invite: (req) => {
        invites.push(req);
        return leg;
      },
    },
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
  await new Promise((r) => setImmediate(r));
  return { card, trunk, invites, leg, media, events, mgr, pstn };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('call manager: PSTN → SIP', () => {
  it('routes the called number and carries the appliance call id and caller in the INVITE', async () => {
    const { invites, events } = await setup();
    assert.equal(invites.length, 1);
    assert.deepEqual(invites[0], {
      requestUri: 'sip:100@cc.example.net',
      fromUser: '5551234567',
      fromDisplayName: 'ALICE',
      headers: { 'X-Tonewall-Call-Id': 'call-0001' },
      sdpOffer: 'v=0 (offer)',
    });
    assert.deepEqual(events.map((e) => e.event), ['call.started']);
  });

  it('answers the PSTN line only when the contact center answers, then moves PCM both ways', async () => {
    const { leg, pstn, card, media, events, mgr } = await setup();
    leg.emit('progress', 180, 'Ringing');
    assert.equal(pstn.answers, 0);
    card.emit('pcm', 1, Buffer.alloc(80, 1));
    assert.equal(media.fromCardChunks.length, 0, 'no uplink audio before answer');
    assert.equal(card.written.length, 1, 'local ringback toward the PSTN caller after a 180 without SDP');
    leg.emit('answered', 'v=0 (answer)');
    await tick();
    assert.equal(pstn.answers, 1);
    assert.equal(mgr.get('call-0001')?.state, 'active');
    card.emit('pcm', 1, Buffer.alloc(80, 7));
    assert.equal(media.fromCardChunks[0]?.[0], 7);
    assert.equal(card.written.length, 2);
    assert.equal(card.written[1]?.channel, 1);
    assert.deepEqual(events.map((e) => e.event), ['call.started', 'call.answered']);
    assert.equal(events[1]?.record.codec, 'PCMU');
  });

  it('maps a SIP failure to a Q.850 cause on the PSTN side (RFC 3398 §7.2.4.1: 486 → 17)', async () => {
    const { leg, pstn, events, media, mgr } = await setup();
    leg.emit('failed', 486, 'Busy Here');
    assert.deepEqual(pstn.hangups, [{ q850: 17, reason: 'SIP 486 Busy Here' }]);
    assert.equal(events.at(-1)?.event, 'call.ended');
    assert.equal(events.at(-1)?.record.sipStatus, 486);
    assert.equal(media.closed, 1);
    assert.equal(mgr.activeCalls, 0);
  });

  it('CANCELs the INVITE when the caller hangs up before the answer, and BYEs after', async () => {
    const a = await setup();
    a.pstn.release({ by: 'pstn', q850: 16, reason: 'caller hung up while ringing' });
    assert.deepEqual(a.leg.cancels, [{ cause: 16, text: 'caller hung up while ringing' }], 'RFC 3326 Reason on the CANCEL');
    assert.equal(a.leg.byes.length, 0);
    assert.deepEqual(a.pstn.hangups, [], 'the PSTN leg released itself');

    const b = await setup();
    b.leg.emit('answered', 'v=0');
    await tick();
    b.pstn.release({ by: 'pstn', q850: 16, reason: 'loop current dropped' });
    assert.deepEqual(b.leg.byes, [{ cause: 16, text: 'loop current dropped' }], 'RFC 3326 Reason on the BYE');
    assert.equal(b.events.at(-1)?.record.endBy, 'pstn');
  });

  it('hangs up the PSTN line on a BYE from the contact center', async () => {
    const { leg, pstn, events } = await setup();
    leg.emit('answered', 'v=0');
    await tick();
    leg.emit('ended', 'remote', 'BYE');
    assert.deepEqual(pstn.hangups, [{ q850: 16, reason: 'BYE' }]);
    assert.equal(events.at(-1)?.record.endBy, 'sip');
  });

  it('closes the call with BYE when the answer SDP is unusable', async () => {
    const { leg, pstn, events } = await setup();
    leg.emit('answered', 'bad');
    assert.equal(leg.byes.length, 1);
    assert.equal(pstn.answers, 0);
    assert.match(events.at(-1)?.record.endReason ?? '', /unusable SDP answer: no common codec/);
  });

  it('refuses new calls while draining with Q.850 34', async () => {
    const { mgr, trunk } = await setup();
    mgr.setDraining(true);
    const p = new FakePstnCall({ trunk: 'port/2', port: 2, channel: 2, callerNumber: '', callerName: '', calledNumber: '100' });
    trunk.emit('incoming', p);
    await tick();
    assert.deepEqual(p.hangups, [{ q850: 34, reason: 'appliance draining' }]);
  });
});

describe('cause mapping (RFC 3398, RFC 3326)', () => {
  it('maps both ways by the RFC tables with class fallbacks', () => {
    assert.equal(sipStatusToQ850(404), 1);
    assert.equal(sipStatusToQ850(503), 41);
    assert.equal(sipStatusToQ850(599), 41);
    assert.equal(q850ToSipStatus(17), 486);
    assert.equal(q850ToSipStatus(34), 503);
    assert.equal(q850ToSipStatus(99), 500);
    assert.equal(reasonHeader(16, 'Normal "call" clearing'), 'Q.850;cause=16;text="Normal  call  clearing"');
  });
});
