/** SRTP with SDES (RFC 4568) in SDP offer/answer, and the SRTP protector (RFC 3711) on its own. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { TonewallError } from '../../../hw/base/errors';
import { answerOffer, buildOffer, parseAnswer, type LocalMedia } from '../../../controller/media/sdp';
import { SrtpProtector, splitKeySalt } from '../../../controller/media/srtp-protector';
import { decodeRtp, encodeRtp } from '../../../controller/media/rtp-packet';
import { decodeRtcpCompound, encodeReport } from '../../../controller/media/rtcp-packet';

const local = (mode: 'off' | 'offer' | 'require', key = randomBytes(30)): LocalMedia => ({ address: '10.0.0.5', port: 20000, codecs: ['PCMU', 'PCMA'], ptimeMs: 20, srtp: { mode, key } });
const throwsSdp = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof TonewallError && e.code === 'ESDP' && re.test(e.message));

describe('SDES (RFC 4568) in offer/answer', () => {
  it('§5.1 our offer is RTP/SAVP with a=crypto:1 AES_CM_128_HMAC_SHA1_80 and our 30-byte key inline', () => {
    const key = randomBytes(30);
    const m = sdpTransform.parse(buildOffer(local('offer', key))).media[0];
    assert.equal(m?.protocol, 'RTP/SAVP');
    assert.deepEqual(m?.crypto, [{ id: 1, suite: 'AES_CM_128_HMAC_SHA1_80', config: `inline:${key.toString('base64')}` }]);
    assert.equal(sdpTransform.parse(buildOffer(local('off'))).media[0]?.protocol, 'RTP/AVP');
  });

  it('§6.1 answering an SRTP offer echoes the tag of the first supported suite with our own key; both keys end up negotiated', () => {
    const theirs = randomBytes(30);
    const offer = buildOffer({ address: '10.0.0.9', port: 30000, codecs: ['PCMU'], ptimeMs: 20 })
      .replace('RTP/AVP', 'RTP/SAVP')
      .replace('a=ptime', `a=crypto:3 AES_256_CM_HMAC_SHA1_80 inline:${randomBytes(46).toString('base64')}\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:${theirs.toString('base64')}\r\na=rtcp-mux\r\na=ptime`);
    const mine = randomBytes(30);
    const { sdp, media } = answerOffer(offer, local('offer', mine));
    const m = sdpTransform.parse(sdp).media[0];
    assert.equal(m?.protocol, 'RTP/SAVP');
    assert.deepEqual(m?.crypto, [{ id: 7, suite: 'AES_CM_128_HMAC_SHA1_80', config: `inline:${mine.toString('base64')}` }]);
    assert.equal(m?.rtcpMux, 'rtcp-mux', 'RFC 5761 §5.1.1: rtcp-mux offered, rtcp-mux answered');
    assert.deepEqual(media.srtp, { suite: 'AES_CM_128_HMAC_SHA1_80', tag: 7, localKey: mine, remoteKey: theirs });
    assert.equal(media.rtcpMux, true);
  });

  it('parses the answer to our SRTP offer; the policy refuses what it must, with errors that never quote a key', () => {
    const ours = randomBytes(30);
    const theirs = randomBytes(30);
    const answer = (proto: string, crypto: string): string => `v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 ${proto} 0\r\n${crypto}`;
    const got = parseAnswer(answer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${theirs.toString('base64')}\r\n`), { codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key: ours } });
    assert.deepEqual(got.srtp, { suite: 'AES_CM_128_HMAC_SHA1_80', tag: 1, localKey: ours, remoteKey: theirs });
    assert.equal(parseAnswer(answer('RTP/AVP', ''), { codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key: ours } }).srtp, undefined, 'offer: a plain answer is accepted');
    throwsSdp(() => parseAnswer(answer('RTP/AVP', ''), { codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'require', key: ours } }), /plain RTP\/AVP but sip.srtp is "require"/);
    const short = randomBytes(20).toString('base64');
    const err = ((): unknown => {
      try {
        parseAnswer(answer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${short}\r\n`), { codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key: ours } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof TonewallError && /key\|\|salt of 20 bytes, expected 30/.test(err.message), String(err));
    assert.ok(!err.message.includes(short), 'the error does not quote the key');
    throwsSdp(() => parseAnswer(answer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${theirs.toString('base64')}|2^20|1:4\r\n`), { codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key: ours } }), /lifetime\/MKI parameters are not supported/);
    throwsSdp(() => parseAnswer(answer('RTP/SAVP', `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${theirs.toString('base64')}\r\n`), { codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key: ours } }), /crypto tag 2 does not match our offered tags 1 /);
    throwsSdp(() => answerOffer(answer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${theirs.toString('base64')}\r\n`), local('off')), /RTP\/SAVP but sip.srtp is "off"/);
    throwsSdp(() => answerOffer(answer('RTP/AVP', ''), local('require')), /plain RTP\/AVP but sip.srtp is "require"/);
  });
});

describe('SRTP protector (RFC 3711, AES_CM_128_HMAC_SHA1_80 via werift-rtp)', () => {
  const a = randomBytes(30);
  const b = randomBytes(30);
  const rtp = (seq: number): Buffer => encodeRtp({ payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc: 0xabc, payload: Buffer.alloc(160, seq & 0xff) });

  it('§3.1 protects and unprotects RTP: encrypted payload, 10-byte tag, the same packet back', () => {
    const tx = new SrtpProtector(splitKeySalt(a), splitKeySalt(b));
    const rx = new SrtpProtector(splitKeySalt(b), splitKeySalt(a));
    const plain = rtp(1);
    const sealed = tx.protectRtp(plain);
    assert.equal(sealed.length, plain.length + 10);
    assert.notDeepEqual(sealed.subarray(12, 172), plain.subarray(12));
    assert.deepEqual(rx.unprotectRtp(sealed), plain);
    assert.deepEqual(decodeRtp(rx.unprotectRtp(tx.protectRtp(rtp(2)))).payload, Buffer.alloc(160, 2));
  });

  it('§3.3 a tampered packet, a wrong key and a replay are rejected with ESRTP', () => {
    const tx = new SrtpProtector(splitKeySalt(a), splitKeySalt(b));
    const rx = new SrtpProtector(splitKeySalt(b), splitKeySalt(a));
    const sealed = tx.protectRtp(rtp(10));
    const flipped = Buffer.from(sealed);
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    assert.throws(() => rx.unprotectRtp(flipped), /SRTP authentication failed for sequence 10/);
    assert.throws(() => new SrtpProtector(splitKeySalt(b), splitKeySalt(randomBytes(30))).unprotectRtp(sealed), /authentication failed/);
    rx.unprotectRtp(sealed);
    assert.throws(() => rx.unprotectRtp(sealed), /SRTP replay: sequence 10/);
    for (let s = 11; s < 100; s++) rx.unprotectRtp(tx.protectRtp(rtp(s)));
    assert.throws(() => rx.unprotectRtp(tx.protectRtp(rtp(20))), /older than the 64-packet window|already seen/);
  });

  it('§3.4 SRTCP: compound RTCP protected (E bit, index, tag) and back; tampering rejected', () => {
    const tx = new SrtpProtector(splitKeySalt(a), splitKeySalt(b));
    const rx = new SrtpProtector(splitKeySalt(b), splitKeySalt(a));
    const rr = encodeReport(0xabc, undefined, []);
    const sealed = tx.protectRtcp(rr);
    assert.equal(sealed.length, rr.length + 4 + 10);
    assert.deepEqual(decodeRtcpCompound(rx.unprotectRtcp(sealed)), [{ type: 'rr', ssrc: 0xabc, reports: [] }]);
    const bad = Buffer.from(sealed);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
    assert.throws(() => rx.unprotectRtcp(bad), /SRTCP authentication failed/);
  });
});
