/** UPDATE in the early dialog of an incoming call (RFC 3311 §5.2), with reliable provisionals (RFC 3262). */
import assert from 'node:assert/strict';
import { cseq, header, type SipResponse } from '../../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../../controller/sip/core/messages/name-addr';
import { FAKE_PEER, OUR_SDP, PEER_SDP, fakeUa, offeredIncoming, peerRequest, type FakeUa, type PeerDialog } from '../../lib/sip-call-harness';

const NEW_OFFER = PEER_SDP.replace('o=cc 1 1', 'o=cc 1 2').replace('a=sendrecv', 'a=sendonly');
const NEW_ANSWER = OUR_SDP.replace('o=tonewall 1 1', 'o=tonewall 1 2') + 'a=recvonly\r\n';

function updateResponses(f: FakeUa): SipResponse[] {
  return f.transport.sent.map((s) => s.msg).filter((m): m is SipResponse => 'status' in m && cseq(m).method === 'UPDATE');
}

function earlyPeer(f: FakeUa, extra: Record<string, string> = { Require: '100rel' }) {
  const { call, invite } = offeredIncoming(f, extra);
  assert.ok(call);
  const offers: Array<[string, string]> = [];
  call.onOffer((offer) => {
    if (offer.includes('m=video')) throw new Error('no video here');
    return NEW_ANSWER;
  });
  call.on('remote-offer', (o, a) => offers.push([o, a]));
  call.progress(OUR_SDP);
  const p183 = f.transport.responses(183)[0];
  assert.ok(p183);
  const peer: PeerDialog = { callId: header(invite, 'call-id') ?? '', local: header(invite, 'from') ?? '', remote: header(p183, 'to') ?? '', target: parseNameAddr(header(p183, 'contact') ?? '').uri, cseq: 1 };
  return { call, p183, peer, offers };
}

describe('UPDATE in the early dialog (RFC 3311 §5.2)', () => {
  it('an SDP offer before our reliable answer was PRACKed → 500 with Retry-After 0–10; after the PRACK it is answered 200 with SDP and Contact', async () => {
    const f = await fakeUa();
    const { call, p183, peer, offers } = earlyPeer(f);
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: NEW_OFFER }), FAKE_PEER);
    const busy = updateResponses(f)[0];
    assert.equal(busy?.status, 500);
    assert.ok(busy);
    const retry = Number(header(busy, 'retry-after'));
    assert.ok(retry >= 0 && retry <= 10, `Retry-After ${retry}`);
    f.transport.inject(peerRequest(peer, 'PRACK', { headers: { RAck: `${header(p183, 'rseq') ?? ''} 1 INVITE` } }), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: NEW_OFFER }), FAKE_PEER);
    const ok = updateResponses(f)[1];
    assert.equal(ok?.status, 200);
    assert.equal(ok?.body.toString(), NEW_ANSWER);
    assert.equal(header(ok, 'content-type'), 'application/sdp');
    assert.match(header(ok, 'contact') ?? '', /^<sip:/, '§5.2: the 2xx to UPDATE carries Contact (target refresh)');
    assert.deepEqual(offers, [[NEW_OFFER, NEW_ANSWER]]);
    // The final answer keeps what the early UPDATE agreed.
    call.answer(OUR_SDP);
    const final = f.transport.responses(200).find((r) => cseq(r).method === 'INVITE');
    assert.equal(final?.body.toString(), NEW_ANSWER);
  });

  it('without a body → 200 (target refresh); an offer we cannot answer → 488 with a Warning; a wrong To tag → 481; a non-SDP body → 415', async () => {
    const f = await fakeUa();
    const { p183, peer, offers } = earlyPeer(f);
    f.transport.inject(peerRequest(peer, 'PRACK', { headers: { RAck: `${header(p183, 'rseq') ?? ''} 1 INVITE` } }), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'UPDATE'), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: `${NEW_OFFER}m=video 4000 RTP/AVP 96\r\n` }), FAKE_PEER);
    f.transport.inject(peerRequest({ ...peer, remote: peer.remote.replace(/tag=[^;]+/, 'tag=elsewhere') }, 'UPDATE', { body: NEW_OFFER }), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: 'hello', headers: { 'Content-Type': 'text/plain' } }), FAKE_PEER);
    const got = updateResponses(f);
    assert.deepEqual(got.map((r) => r.status), [200, 488, 481, 415]);
    assert.equal(got[0]?.body.length, 0);
    assert.match((got[1] && header(got[1], 'warning')) ?? '', /no video here/);
    assert.deepEqual(offers, [], 'nothing renegotiated');
  });

  it('without reliable provisionals the INVITE offer/answer is not complete before the 2xx: an early SDP offer → 500', async () => {
    const f = await fakeUa();
    const { peer } = earlyPeer(f, {});
    f.transport.inject(peerRequest(peer, 'UPDATE', { body: NEW_OFFER }), FAKE_PEER);
    assert.deepEqual(updateResponses(f).map((r) => r.status), [500]);
  });
});
