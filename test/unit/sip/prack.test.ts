import assert from 'node:assert/strict';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header, headerValues, type SipRequest } from '../../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../../controller/sip/core/messages/name-addr';
import { FAKE_PEER, OUR_SDP, PEER_SDP, fakeUa, offeredIncoming, peerRequest, type FakeUa, type PeerDialog } from '../../lib/sip-call-harness';

function reliable18x(f: FakeUa, invite: SipRequest, status: number, rseq: number, sdp?: string) {
  const res = buildResponse(invite, status, undefined, { toTag: 'cc1', ...(sdp !== undefined ? { body: Buffer.from(sdp) } : {}) });
  addHeader(res, 'Contact', '<sip:agent@127.0.0.1:5090>');
  addHeader(res, 'Require', '100rel');
  addHeader(res, 'RSeq', String(rseq));
  if (sdp !== undefined) addHeader(res, 'Content-Type', 'application/sdp');
  f.transport.inject(res, FAKE_PEER);
  return res;
}

describe('reliable provisional responses (RFC 3262)', () => {
  it('§7.2 UAC: a reliable 183 is PRACKed in the early dialog (Contact, To tag, RAck), once; early media is reported with its SDP', async () => {
    const f = await fakeUa();
    const call = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: OUR_SDP });
    const early: string[] = [];
    call.on('early-media', (sdp) => early.push(sdp));
    const invite = f.transport.requests('INVITE')[0];
    assert.ok(invite);
    reliable18x(f, invite, 183, 7, PEER_SDP);
    reliable18x(f, invite, 183, 7, PEER_SDP); // retransmission: discarded (§4)
    const pracks = f.transport.requests('PRACK');
    assert.equal(pracks.length, 1);
    const prack = pracks[0];
    assert.ok(prack);
    assert.equal(prack.uri, 'sip:agent@127.0.0.1:5090');
    assert.equal(header(prack, 'rack'), `7 ${cseq(invite).seq} INVITE`);
    assert.deepEqual(cseq(prack), { seq: cseq(invite).seq + 1, method: 'PRACK' });
    assert.equal(parseNameAddr(header(prack, 'to') ?? '').params.get('tag'), 'cc1');
    assert.equal(f.transport.sent.find((s) => s.msg === prack)?.port, 5090);
    assert.deepEqual(early, [PEER_SDP]);
  });

  it('§4 UAC: only the next RSeq is PRACKed; the dialog CSeq continues after the PRACKs', async () => {
    const f = await fakeUa();
    const call = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: OUR_SDP });
    const invite = f.transport.requests('INVITE')[0];
    assert.ok(invite);
    reliable18x(f, invite, 180, 20);
    reliable18x(f, invite, 183, 22); // out of order: discarded
    reliable18x(f, invite, 183, 21);
    assert.deepEqual(f.transport.requests('PRACK').map((p) => header(p, 'rack')), ['20 1 INVITE', '21 1 INVITE']);
    const ok = buildResponse(invite, 200, undefined, { toTag: 'cc1', body: Buffer.from(PEER_SDP) });
    addHeader(ok, 'Contact', '<sip:agent@127.0.0.1:5090>');
    f.transport.inject(ok, FAKE_PEER);
    void call.hangup();
    const bye = f.transport.requests('BYE')[0];
    assert.ok(bye);
    assert.equal(cseq(bye).seq, 4, 'INVITE 1, PRACK 2 and 3, BYE 4');
  });

  it('§3 UAS: with Require: 100rel our 180 goes with Require and RSeq, retransmitted until the matching PRACK (200)', async () => {
    const f = await fakeUa();
    const { call, invite } = offeredIncoming(f, { Require: '100rel', Supported: 'timer' });
    assert.ok(call);
    call.ring();
    const ringing = f.transport.responses(180);
    assert.equal(ringing.length, 1);
    const r = ringing[0];
    assert.ok(r);
    assert.deepEqual(headerValues(r, 'require'), ['100rel']);
    const rseq = Number(header(r, 'rseq'));
    assert.ok(rseq >= 1);
    f.clock.advance(500);
    assert.equal(f.transport.responses(180).length, 2, 'retransmitted at T1');
    const peer: PeerDialog = { callId: header(invite, 'call-id') ?? '', local: header(invite, 'from') ?? '', remote: header(r, 'to') ?? '', target: parseNameAddr(header(r, 'contact') ?? '').uri, cseq: 1 };
    f.transport.inject(peerRequest(peer, 'PRACK', { headers: { RAck: `${rseq + 5} 1 INVITE` } }), FAKE_PEER);
    assert.equal(f.transport.responses(481).length, 1, 'a PRACK for no pending RSeq: 481');
    f.transport.inject(peerRequest(peer, 'PRACK', { headers: { RAck: `${rseq} 1 INVITE` } }), FAKE_PEER);
    assert.equal(f.transport.responses(200).filter((x) => cseq(x).method === 'PRACK').length, 1);
    f.clock.advance(10_000);
    assert.equal(f.transport.responses(180).length, 2, 'no retransmission after the PRACK');
    call.progress(OUR_SDP);
    const p183 = f.transport.responses(183)[0];
    assert.ok(p183);
    assert.equal(Number(header(p183, 'rseq')), rseq + 1, 'the next reliable provisional takes the next RSeq');
  });

  it('§3 UAS: no PRACK within 64*T1 → the INVITE is answered 504', async () => {
    const f = await fakeUa();
    const { call } = offeredIncoming(f, { Require: '100rel' });
    assert.ok(call);
    const ended: string[] = [];
    call.on('ended', (by) => ended.push(by));
    call.ring();
    f.clock.advance(32_000);
    assert.equal(f.transport.responses(504).length, 1);
    assert.deepEqual(ended, ['local']);
  });

  it('RFC 3261 §8.2.2.3: Require with an option we lack → 420 Bad Extension listing it in Unsupported', async () => {
    const f = await fakeUa();
    const { call } = offeredIncoming(f, { Require: '100rel, precondition' });
    assert.equal(call, undefined);
    const r = f.transport.responses(420)[0];
    assert.ok(r);
    assert.deepEqual(headerValues(r, 'unsupported'), ['precondition']);
  });
});
