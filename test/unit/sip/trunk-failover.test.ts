/**
 * Trunk failover (RFC 3263 §4.3, RFC 3261 §21.5.4) and drain through the user agent with an
 * in-memory transport: 503 and no answer (Timer B) move to the next trunk, 486 is the callee's
 * answer and does not; a trunk known to be down is tried last; draining refuses new calls both ways.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { SipTrunks, type TrunkState } from '../../../controller/sip/trunk/trunk-set';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header, topVia, type SipRequest } from '../../../controller/sip/core/messages/message';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport, sipText } from '../../lib/sip-fake-transport';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\n';
const A = { address: '127.0.0.1', port: 5080 };
const B = { address: '127.0.0.2', port: 5090 };

async function setup(optionsIntervalS = 0): Promise<{ ua: SipUserAgent; trunks: SipTrunks; clock: ManualClock; transport: FakeSipTransport; states: TrunkState[] }> {
  const clock = new ManualClock();
  const transport = new FakeSipTransport();
  const config = configSchema.parse({
    sip: {
      inviteTimeoutMs: 600_000,
      trunks: [
        { name: 'primary', uri: 'sip:{called}@127.0.0.1:5080', optionsIntervalS, downAfter: 2, upAfter: 2 },
        { name: 'secondary', uri: 'sip:{called}@127.0.0.2:5090', optionsIntervalS: 0 },
      ],
    },
  }).sip;
  const ua = new SipUserAgent({ config, log: nullLogger, clock, transport, timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 } });
  await ua.start();
  const trunks = new SipTrunks({ config, ua, log: nullLogger, clock });
  const states: TrunkState[] = [];
  trunks.on('trunk-state', (s) => states.push(s));
  trunks.start();
  return { ua, trunks, clock, transport, states };
}

/** Lets promise callbacks (request() outcomes) run after the manual clock moved. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

function invitesTo(t: FakeSipTransport, dest: { address: string; port: number }): SipRequest[] {
  return t.sent.filter((s) => s.msg.kind === 'request' && s.msg.method === 'INVITE' && s.address === dest.address && s.port === dest.port).map((s) => s.msg as SipRequest);
}

function call(ua: SipUserAgent): { failed: Promise<number>; answered: Promise<string> } {
  const c = ua.invite({ requestUri: 'sip:5551000@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
  return {
    failed: new Promise((resolve) => c.once('failed', (s) => resolve(s))),
    answered: new Promise((resolve) => c.once('answered', resolve)),
  };
}

describe('SIP trunk failover (RFC 3263 §4.3) and drain', () => {
  it('§21.5.4: 503 from the primary → ACK to it, the same call on the secondary (its Request-URI, CSeq+1, new branch, same Call-ID); answered there', async () => {
    const { ua, trunks, transport } = await setup();
    const c = call(ua);
    const first = invitesTo(transport, A)[0];
    assert.ok(first);
    assert.equal(first.uri, 'sip:5551000@127.0.0.1:5080');
    transport.inject(buildResponse(first, 503, undefined, { toTag: 'x' }), A);
    assert.equal(transport.requests('ACK').length, 1, 'the 503 is ACKed by its transaction');
    const second = invitesTo(transport, B)[0];
    assert.ok(second, 'INVITE sent to the secondary');
    assert.equal(second.uri, 'sip:5551000@127.0.0.2:5090');
    assert.match(header(second, 'to') ?? '', /sip:5551000@127\.0\.0\.2:5090/);
    assert.equal(header(second, 'call-id'), header(first, 'call-id'));
    assert.equal(cseq(second).seq, cseq(first).seq + 1);
    assert.notEqual(topVia(second).params.get('branch'), topVia(first).params.get('branch'));
    const ok = buildResponse(second, 200, undefined, { toTag: 'b1', body: Buffer.from(SDP) });
    addHeader(ok, 'Contact', '<sip:agent@127.0.0.2:5090>');
    transport.inject(ok, B);
    assert.equal(await c.answered, SDP);
    const primary = trunks.trunkStates().find((s) => s.name === 'primary');
    assert.match(primary?.lastError ?? '', /^INVITE 503/);
  });

  it('486 Busy Here is the callee\'s answer: failed(486), no INVITE to the secondary', async () => {
    const { ua, transport } = await setup();
    const c = call(ua);
    transport.inject(buildResponse(invitesTo(transport, A)[0] ?? assert.fail(), 486, undefined, { toTag: 'x' }), A);
    assert.equal(await c.failed, 486);
    assert.equal(invitesTo(transport, B).length, 0);
  });

  it('§17.1.1.2: no answer at all from the primary (Timer B) → the secondary is tried', async () => {
    const { ua, clock, transport } = await setup();
    call(ua);
    clock.advance(32_000);
    assert.equal(invitesTo(transport, B).length, 1);
  });

  it('after a 180 from the primary, a 503 is that call\'s outcome: no second trunk rings', async () => {
    const { ua, transport } = await setup();
    const c = call(ua);
    const inv = invitesTo(transport, A)[0] ?? assert.fail();
    transport.inject(buildResponse(inv, 180, undefined, { toTag: 'r' }), A);
    transport.inject(buildResponse(inv, 503, undefined, { toTag: 'r' }), A);
    assert.equal(await c.failed, 503);
    assert.equal(invitesTo(transport, B).length, 0);
  });

  it('the last trunk failing with 503 gives failed(503) to the caller', async () => {
    const { ua, transport } = await setup();
    const c = call(ua);
    transport.inject(buildResponse(invitesTo(transport, A)[0] ?? assert.fail(), 503, undefined, { toTag: 'x' }), A);
    transport.inject(buildResponse(invitesTo(transport, B)[0] ?? assert.fail(), 503, undefined, { toTag: 'y' }), B);
    assert.equal(await c.failed, 503);
  });

  it('a primary marked down by OPTIONS (hysteresis: 2 misses) is tried after the secondary; trunk-state events tell the fleet', async () => {
    const { ua, clock, transport, states } = await setup(30);
    clock.advance(32_000); // the first OPTIONS times out (Timer F = 64*T1)
    await settle();
    assert.equal(states.at(-1)?.reachability ?? 'unknown', 'unknown', 'one miss is not enough (downAfter 2)');
    clock.advance(30_000);
    await settle();
    assert.equal(states.at(-1)?.name, 'primary');
    assert.equal(states.at(-1)?.reachability, 'down');
    assert.equal(states.at(-1)?.up, false);
    assert.match(states.at(-1)?.lastError ?? '', /^OPTIONS 408/);
    call(ua);
    assert.equal(invitesTo(transport, B).length, 1, 'the secondary first');
    assert.equal(invitesTo(transport, A).length, 0);
  });

  it('OPTIONS answered (even 405) marks the trunk up with its round-trip time', async () => {
    const { clock, trunks, transport } = await setup(30);
    const opt = transport.requests('OPTIONS')[0] ?? assert.fail('an OPTIONS was sent at start');
    assert.equal(opt.uri, 'sip:127.0.0.1:5080');
    clock.advance(40);
    transport.inject(buildResponse(opt, 405, undefined, { toTag: 'o' }), A);
    await settle();
    const s = trunks.trunkStates()[0];
    assert.equal(s?.reachability, 'up');
    assert.equal(s?.rttMs, 40);
  });

  it('drain: an incoming INVITE (and OPTIONS, §11.2) gets 503 with Retry-After; invite() is refused; undrain lets calls in again', async () => {
    const { ua, transport } = await setup();
    ua.on('incoming-call', (c) => c.reject(486, 'Busy Here'));
    ua.setDraining(true, 120);
    const inv = (branch: string): string => sipText([
      'INVITE sip:5550100@127.0.0.1:5062 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK${branch}`, 'Max-Forwards: 70',
      'From: <sip:agent@127.0.0.1>;tag=f1', 'To: <sip:5550100@127.0.0.1>', `Call-ID: drain-${branch}`, 'CSeq: 1 INVITE', 'Content-Type: application/sdp', `Content-Length: ${SDP.length}`,
    ], SDP);
    transport.inject(inv('d1'), A);
    const res = transport.responses(503)[0];
    assert.ok(res, '503 sent');
    assert.equal(header(res, 'retry-after'), '120');
    assert.throws(() => ua.invite({ requestUri: 'sip:1@127.0.0.1:5080', fromUser: '1', sdpOffer: SDP }), /draining/);
    transport.inject(sipText([
      'OPTIONS sip:5550100@127.0.0.1:5062 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKopt1', 'Max-Forwards: 70',
      'From: <sip:sbc@127.0.0.1>;tag=o1', 'To: <sip:5550100@127.0.0.1>', 'Call-ID: drain-opt', 'CSeq: 1 OPTIONS', 'Content-Length: 0',
    ]), A);
    assert.equal(transport.responses(503).length, 2, '§11.2: the OPTIONS probe gets what an INVITE would: 503');
    ua.setDraining(false);
    transport.inject(inv('d2'), A);
    assert.equal(transport.responses(486).length, 1, 'offered to the call handler again');
  });
});
