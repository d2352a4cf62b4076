import assert from 'node:assert/strict';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header } from '../../../controller/sip/core/messages/message';
import { formatQ850Reason, readQ850Reason } from '../../../controller/sip/api/reason-header';
import { FAKE_PEER, OUR_SDP, PEER_SDP, answeredIncoming, answeredOutgoing, fakeUa, offeredIncoming, peerRequest, respondToLast, settle } from '../../lib/sip-call-harness';

describe('CANCEL, BYE and Reason (RFC 3261 §9, §15, RFC 3326)', () => {
  it('§9.1 CANCEL crossing the 200: the 2xx is ACKed, then BYE (with Reason); the call reports failed 487', async () => {
    const f = await fakeUa();
    const call = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: OUR_SDP });
    const invite = f.transport.requests('INVITE')[0];
    assert.ok(invite);
    f.transport.inject(buildResponse(invite, 180, undefined, { toTag: 'cc1' }), FAKE_PEER);
    const failed: string[] = [];
    call.on('failed', (s) => failed.push(String(s)));
    call.cancel({ cause: 16, text: 'caller hung up' });
    const cancel = f.transport.requests('CANCEL')[0];
    assert.ok(cancel);
    assert.equal(header(cancel, 'reason'), 'Q.850;cause=16;text="caller hung up"');
    const ok = buildResponse(invite, 200, undefined, { toTag: 'cc1', body: Buffer.from(PEER_SDP) });
    addHeader(ok, 'Contact', '<sip:agent@127.0.0.1:5080>');
    f.transport.inject(ok, FAKE_PEER);
    assert.equal(f.transport.requests('ACK').length, 1);
    const bye = f.transport.requests('BYE')[0];
    assert.ok(bye);
    assert.equal(header(bye, 'reason'), 'Q.850;cause=16;text="caller hung up"');
    respondToLast(f, 'BYE', 200);
    await settle();
    assert.deepEqual(failed, ['487']);
  });

  it('RFC 3326 the Q.850 cause of hangup() rides on our BYE; the peer\'s BYE Reason comes with ended', async () => {
    const f = await fakeUa();
    const a = answeredOutgoing(f);
    void a.call.hangup({ cause: 17, text: 'user busy' });
    assert.equal(header(f.transport.requests('BYE')[0] ?? a.invite, 'reason'), 'Q.850;cause=17;text="user busy"');
    const b = answeredIncoming(f);
    const ended: unknown[] = [];
    b.call.on('ended', (...args) => ended.push(args));
    f.transport.inject(peerRequest(b.peer, 'BYE', { headers: { Reason: 'SIP;cause=200;text="x", Q.850;cause=31;text="Normal, unspecified"' } }), FAKE_PEER);
    assert.deepEqual(ended, [['remote', 'BYE', 31]]);
  });

  it('§15.1.2 BYE from the far end on our outgoing call: 200, ended(remote) without a cause when there is no Reason', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    const ended: unknown[] = [];
    call.on('ended', (...args) => ended.push(args));
    f.transport.inject(peerRequest(peer, 'BYE'), FAKE_PEER);
    assert.ok(f.transport.responses(200).some((r) => cseq(r).method === 'BYE'));
    assert.deepEqual(ended, [['remote', 'BYE']]);
  });

  it('§9.2 a CANCEL with a Reason ends the offered call with that cause; RFC 3326 on a failure response reaches failed', async () => {
    const f = await fakeUa();
    const { call, invite } = offeredIncoming(f);
    assert.ok(call);
    const ended: unknown[] = [];
    call.on('ended', (...args) => ended.push(args));
    const cancel = peerRequest({ callId: header(invite, 'call-id') ?? '', local: header(invite, 'from') ?? '', remote: header(invite, 'to') ?? '', target: invite.uri, cseq: 0 }, 'CANCEL', { cseq: 1, headers: { Reason: 'Q.850;cause=19;text="no answer"' } });
    cancel.headers = cancel.headers.map((h) => (h.name === 'via' ? { name: 'via', value: header(invite, 'via') ?? '' } : h));
    f.transport.inject(cancel, FAKE_PEER);
    assert.equal(f.transport.responses(487).length, 1);
    assert.deepEqual(ended, [['remote', 'CANCEL', 19]]);

    const out = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: OUR_SDP });
    const failed: unknown[] = [];
    out.on('failed', (...args) => failed.push(args));
    respondToLast(f, 'INVITE', 503, { headers: { Reason: 'Q.850;cause=34;text="no circuit"' } });
    assert.deepEqual(failed, [[503, 'Service Unavailable', 34]]);
  });

  it('reject() with a Q.850 cause puts it in a Reason header', async () => {
    const f = await fakeUa();
    const { call } = offeredIncoming(f);
    assert.ok(call);
    call.reject(486, undefined, { cause: 17, text: 'user busy' });
    const r = f.transport.responses(486)[0];
    assert.ok(r);
    assert.equal(header(r, 'reason'), 'Q.850;cause=17;text="user busy"');
  });
});

describe('Reason header values (RFC 3326 §2)', () => {
  const msg = (value: string) => ({ kind: 'request' as const, method: 'BYE', uri: 'sip:x@y', headers: [{ name: 'reason', value }], body: Buffer.alloc(0) });

  it('reads the Q.850 cause and quoted text (semicolons and escaped quotes inside); ignores other protocols and causes outside 1..127', () => {
    assert.deepEqual(readQ850Reason(msg('Q.850 ; cause=16 ; text="Normal; \\"clearing\\""')), { cause: 16, text: 'Normal; \\"clearing\\"' });
    assert.equal(readQ850Reason(msg('SIP;cause=486;text="Busy"')), undefined);
    assert.equal(readQ850Reason(msg('Q.850;cause=0')), undefined);
    assert.equal(readQ850Reason(msg('Q.850;cause=128')), undefined);
    assert.deepEqual(readQ850Reason(msg('q.850;CAUSE=41')), { cause: 41, text: '' });
  });

  it('formats with the text quoted, quotes and line breaks replaced', () => {
    assert.equal(formatQ850Reason({ cause: 21, text: 'say "no"\r\n' }), 'Q.850;cause=21;text="say  no   "');
  });
});
