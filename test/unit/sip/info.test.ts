import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { cseq, header, headerValues } from '../../../controller/sip/core/messages/message';
import { FAKE_PEER, answeredIncoming, answeredOutgoing, fakeUa, peerRequest, respondToLast, settle, type PeerDialog } from '../../lib/sip-call-harness';

const JSON_CT = 'application/json';

function info(peer: PeerDialog, body: string, headers: Record<string, string> = {}) {
  return peerRequest(peer, 'INFO', { headers: { 'Content-Type': JSON_CT, ...headers }, body });
}

describe('SIP INFO in the dialog (RFC 6086)', () => {
  it('§4.2.2 an INFO in the dialog reaches the handler; its status, Content-Type and body are the 200', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    const seen: string[] = [];
    call.onInfo((m) => {
      seen.push(`${m.contentType} ${m.body.toString()} ${String(m.infoPackage)}`);
      return { status: 200, contentType: JSON_CT, body: Buffer.from('{"started":true}') };
    });
    f.transport.inject(info(peer, '{"cmd":"pay.start"}'), FAKE_PEER);
    await settle();
    assert.deepEqual(seen, ['application/json {"cmd":"pay.start"} undefined']);
    const ok = f.transport.responses(200).find((r) => cseq(r).method === 'INFO');
    assert.ok(ok, '200 to the INFO');
    assert.equal(header(ok, 'content-type'), JSON_CT);
    assert.equal(ok.body.toString(), '{"started":true}');
  });

  it('§4.2.2 without a handler: Info-Package → 469, a body → 415 (empty Accept), an empty INFO → 200', async () => {
    const f = await fakeUa();
    const { peer } = answeredIncoming(f);
    f.transport.inject(info(peer, '{}', { 'Info-Package': 'foo' }), FAKE_PEER);
    f.transport.inject(info(peer, '{}'), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'INFO'), FAKE_PEER);
    await settle();
    const statuses = f.transport.sent.map((s) => s.msg).filter((m) => m.kind === 'response' && cseq(m).method === 'INFO').map((m) => (m.kind === 'response' ? m.status : 0));
    assert.deepEqual(statuses, [469, 415, 200]);
  });

  it('a handler that throws gives 500; an async handler is awaited', async () => {
    const f = await fakeUa();
    const { call, peer } = answeredOutgoing(f);
    call.onInfo(() => {
      throw new Error('boom');
    });
    f.transport.inject(info(peer, '{}'), FAKE_PEER);
    await settle();
    assert.equal(f.transport.responses(500).length, 1);
    call.onInfo(async () => Promise.resolve({ status: 488 }));
    f.transport.inject(info(peer, '{}'), FAKE_PEER);
    await settle();
    assert.equal(f.transport.responses(488).length, 1);
  });

  it('§4.2.2 / RFC 3261 §12.2.2 an INFO outside any dialog is answered 481; one with a lower CSeq 500', async () => {
    const f = await fakeUa();
    const { peer } = answeredOutgoing(f);
    f.transport.inject(info({ ...peer, callId: 'unknown@x' }, '{}'), FAKE_PEER);
    assert.equal(f.transport.responses(481).length, 1);
    f.transport.inject(info(peer, '{}'), FAKE_PEER);
    f.transport.inject(peerRequest(peer, 'INFO', { cseq: 50 }), FAKE_PEER);
    await settle();
    assert.equal(f.transport.responses(500).length, 1, 'CSeq 50 after 101');
  });

  it('§4.2.1 sendInfo: INFO in the dialog with the next CSeq, Content-Type and body; resolves with the final status', async () => {
    const f = await fakeUa();
    const { call, invite } = answeredOutgoing(f);
    const status = call.sendInfo(JSON_CT, Buffer.from('{"digits":4}'));
    const sent = f.transport.requests('INFO').at(-1);
    assert.ok(sent);
    assert.equal(sent.uri, 'sip:agent@127.0.0.1:5080', 'Request-URI = remote target');
    assert.deepEqual(cseq(sent), { seq: cseq(invite).seq + 1, method: 'INFO' });
    assert.equal(header(sent, 'content-type'), JSON_CT);
    assert.equal(sent.body.toString(), '{"digits":4}');
    respondToLast(f, 'INFO', 200);
    assert.equal(await status, 200);
  });

  it('sendInfo from the UAS side of a dialog; 415 comes back as the status', async () => {
    const f = await fakeUa();
    const { call } = answeredIncoming(f);
    const p = call.sendInfo(JSON_CT, Buffer.from('{}'));
    const sent = f.transport.requests('INFO').at(-1);
    assert.ok(sent);
    assert.equal(cseq(sent).seq, 1, 'the UAS side starts its own CSeq space');
    respondToLast(f, 'INFO', 415);
    assert.equal(await p, 415);
  });

  it('RFC 5057 §5.1: 481 to our INFO means the dialog is gone: the call ends', async () => {
    const f = await fakeUa();
    const { call } = answeredOutgoing(f);
    const ended: string[] = [];
    call.on('ended', (by) => ended.push(by));
    const p = call.sendInfo(JSON_CT, Buffer.from('{}'));
    respondToLast(f, 'INFO', 481);
    assert.equal(await p, 481);
    assert.deepEqual(ended, ['remote']);
    assert.equal(call.state, 'terminated');
  });

  it('RFC 6086 §5.1 / RFC 3311 §5 the 2xx that makes our dialog lists INFO, UPDATE and PRACK in Allow', async () => {
    const f = await fakeUa();
    const { ok } = answeredIncoming(f);
    assert.deepEqual(headerValues(ok, 'allow'), ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'PRACK']);
  });

  it('sendInfo before the answer rejects with a TonewallError naming the state', async () => {
    const f = await fakeUa();
    const call = f.ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: 'v=0\r\n' });
    await assert.rejects(call.sendInfo(JSON_CT, Buffer.from('{}')), (e: unknown) => e instanceof TonewallError && e.code === 'ESIPDIALOG' && /calling/.test(e.message));
  });
});
