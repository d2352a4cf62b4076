import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import type { IncomingCall } from '../../../controller/sip/api/incoming-call';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header, headerValues, newRequest, topVia, type SipRequest } from '../../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../../controller/sip/core/messages/name-addr';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\n';
const PEER = { address: '127.0.0.1', port: 5080 };

async function makeUa(): Promise<{ ua: SipUserAgent; clock: ManualClock; transport: FakeSipTransport }> {
  const clock = new ManualClock();
  const transport = new FakeSipTransport();
  const config = configSchema.parse({ sip: { inviteTimeoutMs: 60_000 } }).sip;
  const ua = new SipUserAgent({ config, log: nullLogger, clock, transport });
  await ua.start();
  return { ua, clock, transport };
}

function lastInvite(transport: FakeSipTransport): SipRequest {
  const inv = transport.requests('INVITE').at(-1);
  assert.ok(inv, 'an INVITE was sent');
  return inv;
}

function answer200(inv: SipRequest, extra: Record<string, string> = {}): ReturnType<typeof buildResponse> {
  const ok = buildResponse(inv, 200, undefined, { toTag: 'cc1', body: Buffer.from(SDP) });
  addHeader(ok, 'Contact', '<sip:agent@127.0.0.1:5099>');
  for (const [k, v] of Object.entries(extra)) addHeader(ok, k, v);
  return ok;
}

describe('SipUserAgent outgoing calls (RFC 3261 §13.2)', () => {
  it('§8.1.1 the INVITE carries From (caller number, display name, tag), To, Contact, Max-Forwards, User-Agent, Allow, Supported and the call id header', async () => {
    const { ua, transport } = await makeUa();
    ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', fromDisplayName: 'Jane Doe', headers: { 'X-Tonewall-Call-Id': 'tw-call-42' }, sdpOffer: SDP });
    const sent = transport.sent[0];
    assert.ok(sent);
    assert.deepEqual({ a: sent.address, p: sent.port }, { a: '127.0.0.1', p: 5080 });
    const inv = lastInvite(transport);
    assert.equal(inv.uri, 'sip:100@127.0.0.1:5080');
    const f = parseNameAddr(header(inv, 'from') ?? '');
    assert.equal(f.displayName, 'Jane Doe');
    assert.equal(f.uri, 'sip:5551234@127.0.0.1');
    assert.ok((f.params.get('tag') ?? '').length >= 8);
    assert.equal(parseNameAddr(header(inv, 'to') ?? '').params.has('tag'), false);
    assert.equal(header(inv, 'contact'), '<sip:5551234@127.0.0.1:5062>');
    assert.equal(header(inv, 'max-forwards'), '70');
    assert.equal(header(inv, 'user-agent'), 'tonewall');
    assert.deepEqual(headerValues(inv, 'allow'), ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'PRACK']);
    assert.notEqual(header(inv, 'supported'), undefined);
    assert.equal(header(inv, 'x-tonewall-call-id'), 'tw-call-42');
    assert.equal(header(inv, 'content-type'), 'application/sdp');
    assert.equal(inv.body.toString(), SDP);
    assert.match(topVia(inv).params.get('branch') ?? '', /^z9hG4bK/);
    assert.equal(topVia(inv).params.get('rport'), null);
  });

  it('§13.2.2.4 2xx: emits answered with the SDP, ACKs to the Contact with CSeq n ACK, re-ACKs retransmissions identically', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const events: string[] = [];
    call.on('progress', (s) => events.push(`progress ${s}`));
    call.on('answered', (sdp) => events.push(`answered ${sdp === SDP}`));
    const inv = lastInvite(transport);
    transport.inject(buildResponse(inv, 180, undefined, { toTag: 'cc1' }));
    const ok = answer200(inv);
    transport.inject(ok);
    assert.deepEqual(events, ['progress 180', 'answered true']);
    assert.equal(call.state, 'established');
    const ack = transport.sent.find((s) => s.msg.kind === 'request' && s.msg.method === 'ACK');
    assert.ok(ack && ack.msg.kind === 'request');
    assert.equal(ack.msg.uri, 'sip:agent@127.0.0.1:5099');
    assert.deepEqual({ a: ack.address, p: ack.port }, { a: '127.0.0.1', p: 5099 });
    assert.deepEqual(cseq(ack.msg), { seq: 1, method: 'ACK' });
    assert.notEqual(topVia(ack.msg).params.get('branch'), topVia(inv).params.get('branch'));
    transport.inject(ok);
    const acks = transport.sent.filter((s) => s.msg.kind === 'request' && s.msg.method === 'ACK').map((s) => s.raw.toString());
    assert.equal(acks.length, 2);
    assert.equal(acks[1], acks[0], 'the retransmitted ACK is the same ACK');
  });

  it('§12.2.1.1 hangup sends BYE with the next CSeq along the reversed Record-Route set; ended(local)', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const inv = lastInvite(transport);
    transport.inject(answer200(inv, { 'Record-Route': '<sip:p1.example;lr>, <sip:127.0.0.1:5077;lr>' }));
    const ended: string[] = [];
    call.on('ended', (by, reason) => ended.push(`${by}:${reason}`));
    const done = call.hangup();
    const bye = transport.requests('BYE')[0];
    assert.ok(bye);
    assert.deepEqual(cseq(bye), { seq: 2, method: 'BYE' });
    assert.deepEqual(headerValues(bye, 'route'), ['<sip:127.0.0.1:5077;lr>', '<sip:p1.example;lr>']);
    assert.equal(bye.uri, 'sip:agent@127.0.0.1:5099');
    assert.equal(parseNameAddr(header(bye, 'to') ?? '').params.get('tag'), 'cc1');
    const byeSent = transport.sent.find((s) => s.msg === bye);
    assert.deepEqual(byeSent && byeSent.port, 5077);
    transport.inject(buildResponse(bye, 200));
    await done;
    assert.deepEqual(ended, ['local:hangup']);
    assert.equal(call.state, 'terminated');
  });

  it('§15.1.2 a BYE from the peer is answered 200 and ends the call (remote)', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const inv = lastInvite(transport);
    transport.inject(answer200(inv));
    const ended: string[] = [];
    call.on('ended', (by) => ended.push(by));
    const bye = newRequest('BYE', 'sip:555@127.0.0.1:5062');
    addHeader(bye, 'Via', 'SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKbye');
    addHeader(bye, 'Max-Forwards', '70');
    addHeader(bye, 'From', `${header(inv, 'to') ?? ''};tag=cc1`);
    addHeader(bye, 'To', header(inv, 'from') ?? '');
    addHeader(bye, 'Call-ID', call.sipCallId);
    addHeader(bye, 'CSeq', '1 BYE');
    transport.inject(bye, { address: '127.0.0.1', port: 5099 });
    assert.equal(transport.responses(200).length, 1);
    assert.deepEqual(ended, ['remote']);
    assert.equal(ua.counters.liveCalls, 0);
  });

  it('§9.1 cancel() before any provisional waits for one, then CANCELs with the INVITE branch; 487 → failed(487)', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const failed: number[] = [];
    call.on('failed', (s) => failed.push(s));
    call.cancel();
    assert.equal(transport.requests('CANCEL').length, 0);
    const inv = lastInvite(transport);
    transport.inject(buildResponse(inv, 100));
    const cancel = transport.requests('CANCEL')[0];
    assert.ok(cancel);
    assert.equal(cancel.uri, inv.uri);
    assert.equal(header(cancel, 'via'), header(inv, 'via'));
    assert.deepEqual(cseq(cancel), { seq: 1, method: 'CANCEL' });
    transport.inject(buildResponse(cancel, 200));
    transport.inject(buildResponse(inv, 487, undefined, { toTag: 'x' }));
    assert.deepEqual(failed, [487]);
    assert.equal(transport.requests('ACK').length, 1, 'the INVITE transaction ACKs the 487');
  });

  it('a 486 final response reports failed(486, reason)', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const failed: string[] = [];
    call.on('failed', (s, r) => failed.push(`${s} ${r}`));
    transport.inject(buildResponse(lastInvite(transport), 486, undefined, { toTag: 'b' }));
    assert.deepEqual(failed, ['486 Busy Here']);
  });

  it('Timer B: no response at all reports failed(408)', async () => {
    const { ua, clock } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const failed: number[] = [];
    call.on('failed', (s) => failed.push(s));
    clock.advance(32_000);
    assert.deepEqual(failed, [408]);
  });

  it('the answer timeout CANCELs a ringing call and reports failed(408)', async () => {
    const { ua, clock, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    const failed: string[] = [];
    call.on('failed', (s, r) => failed.push(`${s} ${r}`));
    const inv = lastInvite(transport);
    transport.inject(buildResponse(inv, 180, undefined, { toTag: 'r' }));
    clock.advance(60_000);
    assert.equal(transport.requests('CANCEL').length, 1);
    transport.inject(buildResponse(inv, 487, undefined, { toTag: 'r' }));
    assert.deepEqual(failed, ['408 no answer within 60000 ms']);
  });

  it('stop() does not wait for a dead peer longer than stopTimeoutMs', async () => {
    const { ua, transport, clock } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    transport.inject(answer200(lastInvite(transport)));
    const ended: string[] = [];
    call.on('ended', (by, reason) => ended.push(`${by} ${reason}`));
    const stopping = ua.stop();
    assert.equal(transport.requests('BYE').length, 1);
    clock.advance(2000);
    await stopping;
    assert.deepEqual(ended, ['local shutdown']);
    assert.equal(call.state, 'terminated');
    assert.equal(transport.closed, false, 'an injected transport belongs to the caller and stays open');
  });

  it('stop() sends BYE for established calls', async () => {
    const { ua, transport } = await makeUa();
    ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '555', sdpOffer: SDP });
    transport.inject(answer200(lastInvite(transport)));
    const stopping = ua.stop();
    const bye = transport.requests('BYE')[0];
    assert.ok(bye);
    transport.inject(buildResponse(bye, 200));
    await stopping;
  });
});

function incomingInvite(branch = 'z9hG4bKin1'): SipRequest {
  const inv = newRequest('INVITE', 'sip:100@127.0.0.1:5062');
  addHeader(inv, 'Via', `SIP/2.0/UDP 127.0.0.1:5080;branch=${branch}`);
  addHeader(inv, 'Max-Forwards', '70');
  addHeader(inv, 'From', '"Caller" <sip:777@127.0.0.1:5080>;tag=abc');
  addHeader(inv, 'To', '<sip:100@127.0.0.1:5062>');
  addHeader(inv, 'Call-ID', 'in-1@127.0.0.1');
  addHeader(inv, 'CSeq', '10 INVITE');
  addHeader(inv, 'Contact', '<sip:777@127.0.0.1:5080>');
  addHeader(inv, 'X-Tonewall-Call-Id', 'cc-9');
  addHeader(inv, 'Content-Type', 'application/sdp');
  inv.body = Buffer.from(SDP);
  return inv;
}

describe('SipUserAgent incoming calls (RFC 3261 §13.3)', () => {
  async function offered(): Promise<{ ua: SipUserAgent; clock: ManualClock; transport: FakeSipTransport; call: IncomingCall; inv: SipRequest }> {
    const env = await makeUa();
    const calls: IncomingCall[] = [];
    env.ua.on('incoming-call', (c) => calls.push(c));
    const inv = incomingInvite();
    env.transport.inject(inv, PEER);
    const call = calls[0];
    assert.ok(call);
    return { ...env, call, inv };
  }

  it('offers the call with its SDP, Request-URI and headers after a 100 Trying', async () => {
    const { call, transport } = await offered();
    assert.equal(transport.responses(100).length, 1);
    assert.equal(call.sdpOffer, SDP);
    assert.equal(call.requestUri, 'sip:100@127.0.0.1:5062');
    assert.equal(call.header('x-tonewall-call-id'), 'cc-9');
    assert.equal(call.caller.displayName, 'Caller');
  });

  it('§13.3.1.4 ring → 180 with a To tag; answer → 200 with Contact and SDP, retransmitted at T1, 2T1 … until the ACK', async () => {
    const { call, transport, clock, inv } = await offered();
    call.ring();
    const ringing = transport.responses(180)[0];
    assert.ok(ringing);
    const tag = parseNameAddr(header(ringing, 'to') ?? '').params.get('tag');
    assert.ok(tag);
    call.answer('v=0\r\n');
    clock.advance(500);
    clock.advance(1000);
    const oks = transport.responses(200);
    assert.equal(oks.length, 3);
    const ok = oks[0];
    assert.ok(ok);
    assert.equal(parseNameAddr(header(ok, 'to') ?? '').params.get('tag'), tag, 'same To tag as the 180');
    assert.equal(header(ok, 'contact'), '<sip:100@127.0.0.1:5062>');
    assert.equal(ok.body.toString(), 'v=0\r\n');
    const ack = newRequest('ACK', 'sip:100@127.0.0.1:5062');
    addHeader(ack, 'Via', 'SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack');
    addHeader(ack, 'Max-Forwards', '70');
    addHeader(ack, 'From', header(inv, 'from') ?? '');
    addHeader(ack, 'To', header(ok, 'to') ?? '');
    addHeader(ack, 'Call-ID', 'in-1@127.0.0.1');
    addHeader(ack, 'CSeq', '10 ACK');
    transport.inject(ack, PEER);
    assert.equal(call.state, 'confirmed');
    clock.advance(10_000);
    assert.equal(transport.responses(200).length, 3, 'no more retransmissions after the ACK');
  });

  it('§13.3.1.4 no ACK within 64*T1: the call is ended with a BYE', async () => {
    const { call, transport, clock } = await offered();
    call.answer('v=0\r\n');
    const ended: string[] = [];
    call.on('ended', (by, r) => ended.push(`${by} ${r}`));
    clock.advance(32_000);
    assert.equal(transport.requests('BYE').length, 1);
    const bye = transport.requests('BYE')[0];
    assert.ok(bye);
    transport.inject(buildResponse(bye, 200));
    await Promise.resolve();
    assert.deepEqual(ended, ['local no ACK']);
  });

  it('§9.2 CANCEL: 200 to the CANCEL, 487 to the INVITE, ended(remote)', async () => {
    const { call, transport, inv } = await offered();
    const ended: string[] = [];
    call.on('ended', (by, r) => ended.push(`${by} ${r}`));
    const cancel = newRequest('CANCEL', inv.uri);
    for (const n of ['via', 'max-forwards', 'from', 'to', 'call-id']) addHeader(cancel, n, header(inv, n) ?? '');
    addHeader(cancel, 'CSeq', '10 CANCEL');
    transport.inject(cancel, PEER);
    assert.equal(transport.responses(200).length, 1);
    assert.equal(transport.responses(487).length, 1);
    assert.deepEqual(ended, ['remote CANCEL']);
  });

  it('reject(486) sends the final response through the INVITE server transaction', async () => {
    const { call, transport } = await offered();
    call.reject(486);
    assert.equal(transport.responses(486).length, 1);
    assert.equal(call.state, 'terminated');
  });

  it('§8.2 an INVITE with nobody listening is answered 480; OPTIONS 200 with Allow; BYE outside a dialog 481; unknown method 405', async () => {
    const { transport } = await makeUa();
    transport.inject(incomingInvite('z9hG4bKn1'), PEER);
    assert.equal(transport.responses(480).length, 1);
    const mk = (method: string, branch: string): SipRequest => {
      const r = newRequest(method, 'sip:127.0.0.1:5062');
      addHeader(r, 'Via', `SIP/2.0/UDP 127.0.0.1:5080;branch=${branch}`);
      addHeader(r, 'Max-Forwards', '70');
      addHeader(r, 'From', '<sip:x@127.0.0.1>;tag=1');
      addHeader(r, 'To', '<sip:127.0.0.1:5062>');
      addHeader(r, 'Call-ID', `${method}@x`);
      addHeader(r, 'CSeq', `1 ${method}`);
      return r;
    };
    transport.inject(mk('OPTIONS', 'z9hG4bKo'), PEER);
    const ok = transport.responses(200)[0];
    assert.ok(ok);
    assert.deepEqual(headerValues(ok, 'allow'), ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'PRACK']);
    transport.inject(mk('BYE', 'z9hG4bKb'), PEER);
    assert.equal(transport.responses(481).length, 1);
    transport.inject(mk('SUBSCRIBE', 'z9hG4bKs'), PEER);
    assert.equal(transport.responses(405).length, 1);
  });
});
