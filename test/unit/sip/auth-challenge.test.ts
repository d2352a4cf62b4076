/**
 * RFC 3261 §22.2/§22.3 through the user agent: a 401/407 on an INVITE or OPTIONS is answered with
 * a new request (same Call-ID and From tag, CSeq + 1, new branch) carrying credentials; the ACK for
 * the challenged INVITE is the transaction's (§17.1.1.3); refused credentials end in the challenge
 * reaching the caller; stale=true (RFC 7616 §3.3) is retried; RFC 8760 §2.4 prefers SHA-256.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { SipUserAgent } from '../../../controller/sip/api/user-agent';
import { buildResponse } from '../../../controller/sip/core/messages/build';
import { addHeader, cseq, header, topVia, type SipRequest } from '../../../controller/sip/core/messages/message';
import { parseNameAddr } from '../../../controller/sip/core/messages/name-addr';
import { digestResponse, parseAuthParams, type DigestAlgorithm } from '../../../controller/sip/auth/digest';
import { ManualClock } from '../../lib/manual-clock';
import { FakeSipTransport } from '../../lib/sip-fake-transport';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\n';

async function makeUa(): Promise<{ ua: SipUserAgent; transport: FakeSipTransport }> {
  const transport = new FakeSipTransport();
  const config = configSchema.parse({ sip: { inviteTimeoutMs: 60_000 } }).sip;
  const ua = new SipUserAgent({
    config, log: nullLogger, clock: new ManualClock(), transport,
    credentials: (dest, realm) => (dest.port === 5080 && realm === 'trunk.test' ? { username: 'branch7', password: 's3cret' } : undefined),
  });
  await ua.start();
  return { ua, transport };
}

function challenge(req: SipRequest, status: 401 | 407, values: string[]): ReturnType<typeof buildResponse> {
  const res = buildResponse(req, status, undefined, { toTag: 'ch1' });
  for (const v of values) addHeader(res, status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate', v);
  return res;
}

/** Checks the credentials in `req` the way a registrar would. */
function verify(req: SipRequest, headerName: string, algorithm: DigestAlgorithm, nonce: string): Map<string, string> {
  const value = header(req, headerName);
  assert.ok(value, `${headerName} present`);
  const p = parseAuthParams(value.replace(/^Digest\s+/, ''));
  const expected = digestResponse({
    algorithm, username: 'branch7', password: 's3cret', realm: 'trunk.test', nonce, method: req.method, uri: p.get('uri') ?? '',
    qop: 'auth', nc: p.get('nc') ?? '', cnonce: p.get('cnonce') ?? '',
  });
  assert.equal(p.get('response'), expected);
  assert.equal(p.get('uri'), req.uri);
  assert.equal(p.get('nonce'), nonce);
  return p;
}

describe('Digest challenges on our requests (RFC 3261 §22)', () => {
  it('§22.2: 401 on INVITE → ACK by the transaction, new INVITE with CSeq 2, same Call-ID/From tag, new branch, valid MD5 Authorization; the caller sees only the 200', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
    const failed: number[] = [];
    call.on('failed', (s) => failed.push(s));
    const first = structuredClone(transport.requests('INVITE')[0]);
    assert.ok(first);
    transport.inject(challenge(first, 401, ['Digest realm="trunk.test", nonce="n-1", qop="auth", algorithm=MD5']));
    const acks = transport.requests('ACK');
    assert.equal(acks.length, 1);
    assert.equal(cseq(acks[0] ?? first).seq, 1);
    const second = transport.requests('INVITE')[1];
    assert.ok(second, 'the INVITE was sent again');
    assert.equal(cseq(second).seq, 2);
    assert.equal(header(second, 'call-id'), header(first, 'call-id'));
    assert.equal(parseNameAddr(header(second, 'from') ?? '').params.get('tag'), parseNameAddr(header(first, 'from') ?? '').params.get('tag'));
    assert.notEqual(topVia(second).params.get('branch'), topVia(first).params.get('branch'));
    const p = verify(second, 'authorization', 'MD5', 'n-1');
    assert.equal(p.get('nc'), '00000001');
    const answered = new Promise<string>((resolve) => call.once('answered', resolve));
    const ok = buildResponse(second, 200, undefined, { toTag: 'cc1', body: Buffer.from(SDP) });
    addHeader(ok, 'Contact', '<sip:agent@127.0.0.1:5099>');
    transport.inject(ok);
    assert.equal(await answered, SDP);
    assert.deepEqual(failed, []);
    assert.equal(cseq(transport.requests('ACK')[1] ?? first).seq, 2, 'the 2xx ACK has the new CSeq');
  });

  it('§22.3: 407 is answered with Proxy-Authorization; RFC 8760 §2.4: SHA-256 chosen over MD5 when both are offered', async () => {
    const { ua, transport } = await makeUa();
    ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
    const first = transport.requests('INVITE')[0];
    assert.ok(first);
    transport.inject(challenge(first, 407, ['Digest realm="trunk.test", nonce="m", qop="auth", algorithm=MD5', 'Digest realm="trunk.test", nonce="s", qop="auth", algorithm=SHA-256']));
    const second = transport.requests('INVITE')[1];
    assert.ok(second);
    assert.equal(header(second, 'authorization'), undefined);
    const p = verify(second, 'proxy-authorization', 'SHA-256', 's');
    assert.equal(p.get('algorithm'), 'SHA-256');
  });

  it('credentials refused (a second 401 for the same nonce): the caller gets failed(401), no third INVITE', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
    const failed = new Promise<number>((resolve) => call.once('failed', resolve));
    const ch = ['Digest realm="trunk.test", nonce="same", qop="auth"'];
    transport.inject(challenge(transport.requests('INVITE')[0] ?? assert.fail(), 401, ch));
    transport.inject(challenge(transport.requests('INVITE')[1] ?? assert.fail(), 401, ch));
    assert.equal(await failed, 401);
    assert.equal(transport.requests('INVITE').length, 2);
  });

  it('RFC 7616 §3.3: stale=true is answered again with the new nonce and nc restarting at 1', async () => {
    const { ua, transport } = await makeUa();
    ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
    transport.inject(challenge(transport.requests('INVITE')[0] ?? assert.fail(), 401, ['Digest realm="trunk.test", nonce="old", qop="auth"']));
    transport.inject(challenge(transport.requests('INVITE')[1] ?? assert.fail(), 401, ['Digest realm="trunk.test", nonce="new", qop="auth", stale=true']));
    const third = transport.requests('INVITE')[2];
    assert.ok(third, 'a third INVITE after the stale challenge');
    assert.equal(cseq(third).seq, 3);
    assert.equal(verify(third, 'authorization', 'MD5', 'new').get('nc'), '00000001');
  });

  it('no credentials for the realm: the 401 reaches the caller as failed(401)', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
    const failed = new Promise<number>((resolve) => call.once('failed', resolve));
    transport.inject(challenge(transport.requests('INVITE')[0] ?? assert.fail(), 401, ['Digest realm="other.test", nonce="x"']));
    assert.equal(await failed, 401);
    assert.equal(transport.requests('INVITE').length, 1);
  });

  it('§9.1: a CANCEL after an answered challenge follows the live INVITE (its branch and CSeq)', async () => {
    const { ua, transport } = await makeUa();
    const call = ua.invite({ requestUri: 'sip:100@127.0.0.1:5080', fromUser: '5551234', sdpOffer: SDP });
    transport.inject(challenge(transport.requests('INVITE')[0] ?? assert.fail(), 401, ['Digest realm="trunk.test", nonce="n", qop="auth"']));
    const second = transport.requests('INVITE')[1] ?? assert.fail();
    transport.inject(buildResponse(second, 180, undefined, { toTag: 'r1' }));
    call.cancel();
    const cancel = transport.requests('CANCEL')[0];
    assert.ok(cancel);
    assert.equal(topVia(cancel).params.get('branch'), topVia(second).params.get('branch'));
    assert.equal(cseq(cancel).seq, 2);
  });
});
