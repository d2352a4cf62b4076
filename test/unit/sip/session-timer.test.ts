import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { cseq, header, headerValues } from '../../../controller/sip/core/messages/message';
import {
  expiryDelayMs, formatSessionExpires, intervalAfter422, parseSessionExpires, refreshDelayMs, uacTimerFromResponse, uasTimerDecision, DEFAULT_SESSION_TIMER,
} from '../../../controller/sip/core/dialogs/session-timer';
import { FAKE_PEER, OUR_SDP, PEER_SDP, answeredIncoming, answeredOutgoing, fakeUa, offeredIncoming, peerRequest, respondToLast, settle } from '../../lib/sip-call-harness';

describe('session timers: decisions (RFC 4028)', () => {
  it('§4 Session-Expires grammar: delta-seconds with an optional refresher; bad values name themselves', () => {
    assert.deepEqual(parseSessionExpires('1800;refresher=UAS'), { intervalS: 1800, refresher: 'uas' });
    assert.deepEqual(parseSessionExpires(' 90 '), { intervalS: 90, refresher: undefined });
    assert.equal(formatSessionExpires({ intervalS: 600, refresher: 'uac' }), '600;refresher=uac');
    for (const bad of ['', 'abc', '0', '1800;refresher=proxy']) {
      assert.throws(() => parseSessionExpires(bad), (e: unknown) => e instanceof TonewallError && e.message.includes(`"${bad}"`), bad);
    }
  });

  it('§9 UAS: below our minimum → 422 with our Min-SE; else the asked interval (capped by ours) and the asked refresher', () => {
    const policy = { sessionExpiresS: 1800, minSeS: 120 };
    assert.deepEqual(uasTimerDecision({ sessionExpires: '100', minSe: undefined, supportsTimer: true }, policy), { kind: 'reject-422', minSeS: 120 });
    const d = uasTimerDecision({ sessionExpires: '3600;refresher=uas', minSe: '90', supportsTimer: true }, policy);
    assert.deepEqual(d, { kind: 'timer', sessionExpires: { intervalS: 1800, refresher: 'uas' }, require: true, active: { intervalS: 1800, refresher: 'local' } });
    const e = uasTimerDecision({ sessionExpires: '600', minSe: undefined, supportsTimer: true }, policy);
    assert.deepEqual(e.kind === 'timer' && e.sessionExpires, { intervalS: 600, refresher: 'uac' });
  });

  it('§9 UAS: a UAC without timer support gets refresher=uas and no Require: timer', () => {
    const d = uasTimerDecision({ sessionExpires: '900', minSe: undefined, supportsTimer: false }, DEFAULT_SESSION_TIMER);
    assert.deepEqual(d.kind === 'timer' && [d.sessionExpires.refresher, d.require, d.active.refresher], ['uas', false, 'local']);
  });

  it('§7.2 UAC: no Session-Expires in the 2xx → no timer; refresher=uac (or absent) → we refresh', () => {
    assert.equal(uacTimerFromResponse(undefined), undefined);
    assert.deepEqual(uacTimerFromResponse('1800;refresher=uac'), { intervalS: 1800, refresher: 'local' });
    assert.deepEqual(uacTimerFromResponse('1800;refresher=uas'), { intervalS: 1800, refresher: 'remote' });
  });

  it('§10 refresh at SE/2; expiry at SE − min(32, SE/3); §7.1 after 422 the larger of ours and Min-SE', () => {
    assert.equal(refreshDelayMs({ intervalS: 1800, refresher: 'local' }), 900_000);
    assert.equal(expiryDelayMs({ intervalS: 1800, refresher: 'remote' }), 1_768_000);
    assert.equal(expiryDelayMs({ intervalS: 90, refresher: 'remote' }), 60_000);
    assert.equal(intervalAfter422({ sessionExpiresS: 90, minSeS: 90 }, '600', 90), 600);
  });
});

describe('session timers on calls (RFC 4028)', () => {
  it('§7.1 our INVITE says Supported: timer (and 100rel) with Session-Expires and Min-SE', async () => {
    const f = await fakeUa();
    f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: OUR_SDP });
    const inv = f.transport.requests('INVITE')[0];
    assert.ok(inv);
    assert.deepEqual(headerValues(inv, 'supported'), ['timer', '100rel']);
    assert.equal(header(inv, 'session-expires'), '1800');
    assert.equal(header(inv, 'min-se'), '90');
  });

  it('§7.1 a 422 is retried once with Session-Expires = the peer\'s Min-SE and a higher CSeq, same Call-ID and From tag', async () => {
    const f = await fakeUa({ sessionTimer: { sessionExpiresS: 300, minSeS: 90 } });
    const call = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: OUR_SDP });
    const { req: first } = respondToLast(f, 'INVITE', 422, { headers: { 'Min-SE': '1200' } });
    const second = f.transport.requests('INVITE').at(-1);
    assert.ok(second && second !== first);
    assert.equal(header(second, 'session-expires'), '1200');
    assert.equal(cseq(second).seq, cseq(first).seq + 1);
    assert.equal(header(second, 'call-id'), header(first, 'call-id'));
    assert.equal(header(second, 'from'), header(first, 'from'));
    assert.equal(call.state, 'calling');
  });

  it('§10 refresher=uac (us): UPDATE without SDP at SE/2 when the peer allows UPDATE; the 2xx restarts the timer', async () => {
    const f = await fakeUa({ sessionTimer: { sessionExpiresS: 120, minSeS: 90 } });
    answeredOutgoing(f, { 'Session-Expires': '120;refresher=uac', Require: 'timer', Allow: 'INVITE, ACK, BYE, CANCEL, UPDATE' });
    f.clock.advance(59_999);
    assert.equal(f.transport.requests('UPDATE').length, 0);
    f.clock.advance(1);
    const upd = f.transport.requests('UPDATE')[0];
    assert.ok(upd);
    assert.equal(upd.body.length, 0);
    assert.equal(header(upd, 'session-expires'), '120;refresher=uac');
    respondToLast(f, 'UPDATE', 200, { headers: { 'Session-Expires': '120;refresher=uac' } });
    await settle();
    f.clock.advance(60_000);
    assert.equal(f.transport.requests('UPDATE').length, 2, 'refreshed again one half-interval later');
  });

  it('§10 refresher=uac without UPDATE in Allow: the refresh is a re-INVITE with our SDP, ACKed', async () => {
    const f = await fakeUa({ sessionTimer: { sessionExpiresS: 120, minSeS: 90 } });
    const { invite } = answeredOutgoing(f, { 'Session-Expires': '120;refresher=uac' });
    f.clock.advance(60_000);
    const reinvite = f.transport.requests('INVITE').at(-1);
    assert.ok(reinvite && reinvite !== invite);
    assert.equal(reinvite.body.toString(), OUR_SDP);
    respondToLast(f, 'INVITE', 200, { body: PEER_SDP, headers: { 'Session-Expires': '120;refresher=uac' } });
    await settle();
    assert.equal(f.transport.requests('ACK').filter((a) => cseq(a).seq === cseq(reinvite).seq).length, 1);
  });

  it('§10 refresher=uas (the peer): no refresh by SE − min(32, SE/3) → BYE with Reason', async () => {
    const f = await fakeUa();
    const { call } = answeredOutgoing(f, { 'Session-Expires': '90;refresher=uas' });
    const ended: string[] = [];
    call.on('ended', (by, reason) => ended.push(`${by} ${reason}`));
    f.clock.advance(59_999);
    assert.equal(f.transport.requests('BYE').length, 0);
    f.clock.advance(1);
    const bye = f.transport.requests('BYE')[0];
    assert.ok(bye);
    assert.match(header(bye, 'reason') ?? '', /^Q\.850;cause=102;/);
    respondToLast(f, 'BYE', 200);
    await settle();
    assert.deepEqual(ended, ['local hangup']);
  });

  it('§10 a refresh from the peer (UPDATE) restarts the expiry and is answered with Session-Expires', async () => {
    const f = await fakeUa();
    const { peer } = answeredOutgoing(f, { 'Session-Expires': '90;refresher=uas' });
    f.clock.advance(50_000);
    f.transport.inject(peerRequest(peer, 'UPDATE', { headers: { 'Session-Expires': '90;refresher=uac', Supported: 'timer' } }), FAKE_PEER);
    const ok = f.transport.responses(200).find((r) => cseq(r).method === 'UPDATE');
    assert.ok(ok);
    assert.equal(header(ok, 'session-expires'), '90;refresher=uac');
    assert.equal(header(ok, 'require'), 'timer');
    f.clock.advance(50_000);
    assert.equal(f.transport.requests('BYE').length, 0, 'the refresh moved the expiry');
    f.clock.advance(10_000);
    assert.equal(f.transport.requests('BYE').length, 1);
  });

  it('§9 an INVITE asking for less than our minimum is answered 422 with Min-SE and never offered', async () => {
    const f = await fakeUa({ sessionTimer: { sessionExpiresS: 1800, minSeS: 300 } });
    const { call } = offeredIncoming(f, { Supported: 'timer', 'Session-Expires': '120' });
    assert.equal(call, undefined);
    const r = f.transport.responses(422)[0];
    assert.ok(r);
    assert.equal(header(r, 'min-se'), '300');
  });

  it('§9 our 2xx carries Session-Expires with the refresher and Require: timer when the UAC supports it', async () => {
    const f = await fakeUa();
    const { ok } = answeredIncoming(f, { Supported: 'timer', 'Session-Expires': '600' });
    assert.equal(header(ok, 'session-expires'), '600;refresher=uac');
    assert.deepEqual(headerValues(ok, 'require'), ['timer']);
  });

  it('§9 a UAC without timer support: we refresh (refresher=uas) with a re-INVITE at SE/2', async () => {
    const f = await fakeUa({ sessionTimer: { sessionExpiresS: 100, minSeS: 90 } });
    const { ok } = answeredIncoming(f);
    assert.equal(header(ok, 'session-expires'), '100;refresher=uas');
    assert.equal(header(ok, 'require'), undefined);
    f.clock.advance(50_000);
    const reinvite = f.transport.requests('INVITE').at(-1);
    assert.ok(reinvite);
    assert.equal(reinvite.body.toString(), OUR_SDP);
  });
});
