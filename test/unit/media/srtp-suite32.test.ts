/** The AES_CM_128_HMAC_SHA1_32 suite (RFC 4568 §6.2.1) in offer/answer and in the SRTP protector (RFC 3711). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { TonewallError } from '../../../hw/base/errors';
import { answerOffer, buildOffer, parseAnswer, type LocalMedia } from '../../../controller/media/sdp';
import { SrtpProtector, deriveSessionKey, splitKeySalt } from '../../../controller/media/srtp-protector';
import { decodeRtp, encodeRtp } from '../../../controller/media/rtp-packet';
import { decodeRtcpCompound, encodeReport } from '../../../controller/media/rtcp-packet';

const throwsSdp = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof TonewallError && e.code === 'ESDP' && re.test(e.message));
const both = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;

function answerSdp(lines: string): string {
  return ['v=0', 'o=- 1 1 IN IP4 10.0.0.9', 's=-', 'c=IN IP4 10.0.0.9', 't=0 0', 'm=audio 30000 RTP/SAVP 0', 'a=rtpmap:0 PCMU/8000', lines, 'a=sendrecv', ''].join('\r\n');
}

describe('SDES suites: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568 §6.2.1)', () => {
  it('§5.1 the offer carries one crypto line per configured suite, in order, each with its own key', () => {
    const key = randomBytes(30);
    const key2 = randomBytes(30);
    const local: LocalMedia = { address: '10.0.0.5', port: 20000, codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'offer', key, suites: both, extraKeys: [key2] } };
    const m = sdpTransform.parse(buildOffer(local)).media[0];
    assert.deepEqual(m?.crypto, [
      { id: 1, suite: 'AES_CM_128_HMAC_SHA1_80', config: `inline:${key.toString('base64')}` },
      { id: 2, suite: 'AES_CM_128_HMAC_SHA1_32', config: `inline:${key2.toString('base64')}` },
    ]);
    const only32 = sdpTransform.parse(buildOffer({ ...local, srtp: { mode: 'require', key, suites: ['AES_CM_128_HMAC_SHA1_32'] } })).media[0];
    assert.deepEqual(only32?.crypto, [{ id: 1, suite: 'AES_CM_128_HMAC_SHA1_32', config: `inline:${key.toString('base64')}` }]);
  });

  it('§7.1.3 the answer selects a line by tag: the key of that line is ours, its suite must match', () => {
    const key = randomBytes(30);
    const key2 = randomBytes(30);
    const theirs = randomBytes(30);
    const offered = { codecs: ['PCMU'] as const, ptimeMs: 20, srtp: { mode: 'offer' as const, key, suites: both, extraKeys: [key2] } };
    const got = parseAnswer(answerSdp(`a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${theirs.toString('base64')}`), offered);
    assert.deepEqual(got.srtp, { suite: 'AES_CM_128_HMAC_SHA1_32', tag: 2, localKey: key2, remoteKey: theirs });
    throwsSdp(() => parseAnswer(answerSdp(`a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${theirs.toString('base64')}`), offered), /tag 2 has suite AES_CM_128_HMAC_SHA1_80 but we offered AES_CM_128_HMAC_SHA1_32/);
    throwsSdp(() => parseAnswer(answerSdp(`a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:${theirs.toString('base64')}`), offered), /tag 3 does not match our offered tags 1, 2/);
  });

  it('§6.1 an offer with only the 32-bit suite is answered with it when configured, refused when not', () => {
    const theirs = randomBytes(30);
    const mine = randomBytes(30);
    const offer = answerSdp(`a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:${theirs.toString('base64')}`);
    const { sdp, media } = answerOffer(offer, { address: '10.0.0.5', port: 20000, codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'require', key: mine, suites: both } });
    assert.deepEqual(sdpTransform.parse(sdp).media[0]?.crypto, [{ id: 5, suite: 'AES_CM_128_HMAC_SHA1_32', config: `inline:${mine.toString('base64')}` }]);
    assert.equal(media.srtp?.suite, 'AES_CM_128_HMAC_SHA1_32');
    throwsSdp(
      () => answerOffer(offer, { address: '10.0.0.5', port: 20000, codecs: ['PCMU'], ptimeMs: 20, srtp: { mode: 'require', key: mine, suites: ['AES_CM_128_HMAC_SHA1_80'] } }),
      /crypto tag 5: suite AES_CM_128_HMAC_SHA1_32 not supported\); we support AES_CM_128_HMAC_SHA1_80/,
    );
  });
});

describe('SRTP protector with the 32-bit tag', () => {
  const a = randomBytes(30);
  const b = randomBytes(30);
  const rtp = (seq: number, ssrc = 0xabc): Buffer => encodeRtp({ payloadType: 0, sequence: seq & 0xffff, timestamp: seq * 160, ssrc, payload: Buffer.alloc(160, seq & 0xff) });

  it('RFC 3711 Appendix B.3: the key derivation gives the published session keys', () => {
    const master = { masterKey: Buffer.from('E1F97A0D3E018BE0D64FA32C06DE4139', 'hex'), masterSalt: Buffer.from('0EC675AD498AFEEBB6960B3AABE6', 'hex') };
    assert.equal(deriveSessionKey(master, 0x00, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
    assert.equal(deriveSessionKey(master, 0x02, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
    assert.equal(deriveSessionKey(master, 0x01, 20).toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  });

  it('§4.2 the tag is the leftmost 32 bits of the same HMAC werift puts in the 80-bit tag', () => {
    const t32 = new SrtpProtector(splitKeySalt(a), splitKeySalt(b), 'AES_CM_128_HMAC_SHA1_32');
    const t80 = new SrtpProtector(splitKeySalt(a), splitKeySalt(b), 'AES_CM_128_HMAC_SHA1_80');
    const plain = rtp(7);
    const s32 = t32.protectRtp(plain);
    const s80 = t80.protectRtp(plain);
    assert.equal(s32.length, plain.length + 4);
    assert.deepEqual(s32, s80.subarray(0, plain.length + 4));
  });

  it('round trip across a sequence wrap (rollover counter 1); tampering, a wrong key and replays rejected', () => {
    const tx = new SrtpProtector(splitKeySalt(a), splitKeySalt(b), 'AES_CM_128_HMAC_SHA1_32');
    const rx = new SrtpProtector(splitKeySalt(b), splitKeySalt(a), 'AES_CM_128_HMAC_SHA1_32');
    for (let s = 65500; s < 65600; s++) assert.deepEqual(decodeRtp(rx.unprotectRtp(tx.protectRtp(rtp(s)))).payload, Buffer.alloc(160, s & 0xff), `sequence ${s & 0xffff}`);
    const sealed = tx.protectRtp(rtp(65600));
    const flipped = Buffer.from(sealed);
    flipped[30] = (flipped[30] ?? 0) ^ 1;
    assert.throws(() => rx.unprotectRtp(flipped), /SRTP authentication failed for sequence 64/);
    const lastTag = Buffer.from(sealed);
    lastTag[lastTag.length - 1] = (lastTag[lastTag.length - 1] ?? 0) ^ 0x80;
    assert.throws(() => rx.unprotectRtp(lastTag), /SRTP authentication failed/);
    assert.throws(() => new SrtpProtector(splitKeySalt(b), splitKeySalt(randomBytes(30)), 'AES_CM_128_HMAC_SHA1_32').unprotectRtp(tx.protectRtp(rtp(1, 0xdef))), /authentication failed/);
    rx.unprotectRtp(sealed);
    assert.throws(() => rx.unprotectRtp(sealed), /SRTP replay: sequence 64/);
    assert.throws(() => rx.unprotectRtp(Buffer.alloc(15)), /shorter than header \+ 4-byte tag \(AES_CM_128_HMAC_SHA1_32\)/);
  });

  it('RFC 4568 §6.2.2: SRTCP keeps its 80-bit tag under the 32-bit suite', () => {
    const tx = new SrtpProtector(splitKeySalt(a), splitKeySalt(b), 'AES_CM_128_HMAC_SHA1_32');
    const rx = new SrtpProtector(splitKeySalt(b), splitKeySalt(a), 'AES_CM_128_HMAC_SHA1_32');
    const rr = encodeReport(0xabc, undefined, []);
    const sealed = tx.protectRtcp(rr);
    assert.equal(sealed.length, rr.length + 4 + 10);
    assert.deepEqual(decodeRtcpCompound(rx.unprotectRtcp(sealed)), [{ type: 'rr', ssrc: 0xabc, reports: [] }]);
  });
});
