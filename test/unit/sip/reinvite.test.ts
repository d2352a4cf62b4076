import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { cseq, header } from '../../../controller/sip/core/messages/message';
import { glareRetryMs, remoteRequestDecision } from '../../../controller/sip/core/dialogs/offer-answer';
import { FAKE_PEER, OUR_SDP, PEER_SDP, answeredIncoming, answeredOutgoing, fakeUa, peerAck, peerRequest, respondToLast, settle } from '../../lib/sip-call-harness';

const HOLD = PEER_SDP.replace('a=sendrecv', 'a=sendonly');

function responsesTo(f: Awaited<ReturnType<typeof fakeUa>>, method: string): number[] {
  return f.transport.sent.map((s) => s.msg).flatMap((m) => (m.kind === 'response' && cseq(m).method === method ? [m.status] : []));
}

describe('re-INVITE and UPDATE (RFC 3261 §14, RFC 3311)', () => {
  it('§14.2 a re-INVITE with a hold offer (sendonly) is answered by the offer handler; the 2xx has Contact and is retransmitted until the ACK', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    const offers: string[] = [];
    call.onOffer((sdp) => {
      offers.push(sdp);
      return OUR_SDP.replace('m=audio', 'a=recvonly\r\nm=audio');
    });
    const changes: string[] = [];
    call.on('remote-offer', (o) => changes.push(o));
    const reinvite = peerRequest(peer, 'INVITE', { body: HOLD });
    f.transport.inject(reinvite, FAKE_PEER);
    assert.deepEqual(offers, [HOLD]);
    assert.deepEqual(changes, [HOLD]);
    const ok = f.transport.responses(200).find((r) => cseq(r).method === 'INVITE' && cseq(r).seq === cseq(reinvite).seq);
    assert.ok(ok);
    assert.match(ok.body.toString(), /a=recvonly/);
    assert.equal(header(ok, 'contact'), '<sip:5551234@127.0.0.1>', 'our Contact (the dialog local URI)');
    f.clock.advance(500);
    assert.equal(responsesTo(f, 'INVITE').filter((s) => s === 200).length, 2, 'retransmitted at T1');
    f.transport.inject(peerAck(peer, cseq(reinvite).seq), FAKE_PEER);
    f.clock.advance(10_000);
    assert.equal(responsesTo(f, 'INVITE').filter((s) => s === 200).length, 2, 'no more after the ACK');
    assert.equal(call.state, 'established');
  });

  it('§14.2 an offer nobody can answer (no handler, or it throws) is answered 488 and the call stays up', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredIncoming(f);
    f.transport.inject(peerRequest(peer, 'INVITE', { body: HOLD }), FAKE_PEER);
    call.onOffer(() => {
      throw new Error('no common codec: offer has 18 G729/8000');
    });
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: HOLD }), FAKE_PEER);
    assert.deepEqual([...responsesTo(f, 'INVITE').filter((s) => s !== 200 && s !== 100), ...responsesTo(f, 'UPDATE')], [488, 488]);
    const warn = f.transport.responses(488).at(-1);
    assert.ok(warn);
    assert.match(header(warn, 'warning') ?? '', /no common codec/);
    assert.equal(call.state, 'confirmed');
  });

  it('§14.2 a re-INVITE without SDP gets our current SDP as the offer in the 2xx', async () => {
    const f = await fakeUa();
    const { peer } = answeredIncoming(f);
    f.transport.inject(peerRequest(peer, 'INVITE'), FAKE_PEER);
    const ok = f.transport.responses(200).filter((r) => cseq(r).method === 'INVITE').at(-1);
    assert.equal(ok?.body.toString(), OUR_SDP);
  });

  it('RFC 3311 §5.2 UPDATE with an offer is answered in its 200 at once (no ACK)', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    call.onOffer(() => 'v=0 answer\r\n');
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: HOLD }), FAKE_PEER);
    const ok = f.transport.responses(200).find((r) => cseq(r).method === 'UPDATE');
    assert.equal(ok?.body.toString(), 'v=0 answer\r\n');
    assert.equal(call.dialogSession?.offerState, 'stable');
  });

  it('§14.1 glare: a re-INVITE while ours is pending gets 491; our 491 is retried after 2.1–4 s (we own the Call-ID) with a new CSeq', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    call.onOffer(() => 'v=0 x\r\n');
    const result = call.modify('INVITE', OUR_SDP.replace('m=audio', 'a=sendonly\r\nm=audio'));
    const first = f.transport.requests('INVITE').at(-1);
    assert.ok(first);
    f.transport.inject(peerRequest(peer, 'INVITE', { body: HOLD }), FAKE_PEER);
    assert.deepEqual(responsesTo(f, 'INVITE').filter((s) => s === 491), [491]);
    respondToLast(f, 'INVITE', 491);
    await settle();
    const before = f.transport.requests('INVITE').length;
    f.clock.advance(2099);
    await settle();
    assert.equal(f.transport.requests('INVITE').length, before, 'not before 2.1 s');
    f.clock.advance(1901);
    await settle();
    const retry = f.transport.requests('INVITE').at(-1);
    assert.ok(retry && retry !== first);
    assert.equal(cseq(retry).seq, cseq(first).seq + 1);
    respondToLast(f, 'INVITE', 200, { body: PEER_SDP });
    const r = await result;
    assert.equal(r.status, 200);
    const acks = f.transport.requests('ACK').filter((a) => cseq(a).seq === cseq(retry).seq);
    assert.equal(acks.length, 1, 'the 2xx of our re-INVITE is ACKed with its CSeq');
  });

  it('§13.2.2.4 a retransmitted 2xx to our re-INVITE is ACKed again', async () => {
    const f = await fakeUa();
    const { call } = answeredOutgoing(f);
    const p = call.modify('INVITE', OUR_SDP);
    const { req, res } = respondToLast(f, 'INVITE', 200, { body: PEER_SDP });
    await p;
    f.transport.inject(res, FAKE_PEER);
    assert.equal(f.transport.requests('ACK').filter((a) => cseq(a).seq === cseq(req).seq).length, 2);
  });

  it('§14.2 a second re-INVITE before the first one is ACKed gets 500 with Retry-After', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    call.onOffer(() => 'v=0 y\r\n');
    f.transport.inject(peerRequest(peer, 'INVITE', { body: HOLD }), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'INVITE', { body: PEER_SDP }), FAKE_PEER);
    const r500 = f.transport.responses(500).at(-1);
    assert.ok(r500);
    assert.match(header(r500, 'retry-after') ?? '', /^[0-9]+$/);
  });

  it('§12.2 a re-INVITE refreshes the remote target: our BYE goes to the new Contact', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    call.onOffer(() => 'v=0 z\r\n');
    const moved = peerRequest(peer, 'INVITE', { body: HOLD });
    moved.headers = moved.headers.map((h) => (h.name === 'contact' ? { name: 'contact', value: '<sip:agent@127.0.0.1:5099>' } : h));
    f.transport.inject(moved, FAKE_PEER);
    f.transport.inject(peerAck(peer, peer.cseq), FAKE_PEER);
    void call.hangup();
    const bye = f.transport.sent.find((s) => s.msg.kind === 'request' && s.msg.method === 'BYE');
    assert.ok(bye && bye.msg.kind === 'request');
    assert.equal(bye.msg.uri, 'sip:agent@127.0.0.1:5099');
    assert.equal(bye.port, 5099);
  });

  it('RFC 5057: 408 or 481 to our re-INVITE ends the call; other failures leave it up', async () => {
    const f = await fakeUa();
    const a = answeredOutgoing(f);
    const r1 = a.call.modify('INVITE', OUR_SDP);
    respondToLast(f, 'INVITE', 488);
    assert.equal((await r1).status, 488);
    assert.equal(a.call.state, 'established');
    const r2 = a.call.modify('UPDATE', OUR_SDP);
    respondToLast(f, 'UPDATE', 481);
    assert.equal((await r2).status, 481);
    assert.equal(a.call.state, 'terminated');
  });

  it('modify() while an offer is in progress rejects with ESIPGLARE; before the answer with ESIPDIALOG', async () => {
    const f = await fakeUa();
    const { call } = answeredOutgoing(f);
    void call.modify('INVITE', OUR_SDP);
    await assert.rejects(call.modify('UPDATE', OUR_SDP), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPGLARE');
    const early = f.ua.invite({ requestUri: 'sip:1@127.0.0.1:5080', fromUser: '5', sdpOffer: OUR_SDP });
    await assert.rejects(early.modify('INVITE', OUR_SDP), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPDIALOG');
  });
});

describe('offer/answer decisions (RFC 3261 §14.1, RFC 3311 §5.2)', () => {
  it('stable accepts; our offer outstanding → 491; theirs unanswered or a re-INVITE awaiting ACK → 500 with Retry-After', () => {
    assert.deepEqual(remoteRequestDecision('stable', false), { kind: 'accept' });
    assert.deepEqual(remoteRequestDecision('local-offer', false), { kind: 'reject', status: 491 });
    const d = remoteRequestDecision('remote-offer', false);
    assert.equal(d.kind === 'reject' && d.status === 500 && d.retryAfterS >= 1 && d.retryAfterS <= 10, true);
    assert.equal(remoteRequestDecision('stable', true).kind, 'reject');
  });

  it('§14.1 retry waits: Call-ID owner 2.1–4.0 s, the other side 0–2.0 s, in 10 ms units', () => {
    assert.equal(glareRetryMs(true, 0), 2100);
    assert.equal(glareRetryMs(true, 0.999999), 4000);
    assert.equal(glareRetryMs(false, 0), 0);
    assert.equal(glareRetryMs(false, 0.999999), 2000);
    for (const r of [0.13, 0.5, 0.77]) {
      assert.equal(glareRetryMs(true, r) % 10, 0);
      assert.equal(glareRetryMs(false, r) % 10, 0);
    }
  });
});

describe('re-INVITE edge cases (RFC 3261 §14.2, RFC 3311 §5.2)', () => {
  it('§14.2 a 2xx to the peer\'s re-INVITE never ACKed within 64*T1 ends the call', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    call.onOffer(() => 'v=0 a\r\n');
    const ended: string[] = [];
    call.on('ended', (by) => ended.push(by));
    f.transport.inject(peerRequest(peer, 'INVITE', { body: HOLD }), FAKE_PEER);
    f.clock.advance(32_000);
    assert.deepEqual(ended, ['remote']);
    assert.equal(call.state, 'terminated');
  });

  it('RFC 3311 §5.2 an UPDATE with an offer while the peer\'s re-INVITE awaits its ACK gets 500 with Retry-After', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredIncoming(f);
    call.onOffer(() => 'v=0 b\r\n');
    f.transport.inject(peerRequest(peer, 'INVITE', { body: HOLD }), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: PEER_SDP }), FAKE_PEER);
    const r = f.transport.responses(500).find((x) => cseq(x).method === 'UPDATE');
    assert.ok(r);
    assert.match(header(r, 'retry-after') ?? '', /^[0-9]+$/);
  });

  it('after the call ends, sendInfo and modify reject with ESIPDIALOG', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    f.transport.inject(peerRequest(peer, 'BYE'), FAKE_PEER);
    await assert.rejects(call.sendInfo('application/json', Buffer.from('{}')), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPDIALOG');
    await assert.rejects(call.modify('UPDATE', undefined), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPDIALOG');
    await settle();
  });
});
