import assert from 'node:assert/strict';
import * as sdpTransform from 'sdp-transform';
import { TonewallError } from '../../../hw/base/errors';
import { answerOffer, buildOffer, parseAnswer } from '../../../controller/media/sdp';

const LOCAL = { address: '192.0.2.5', port: 20002, codecs: ['PCMA', 'PCMU'] as const, ptimeMs: 20, sessionId: 42, sessionVersion: 1 };

function throwsSdp(fn: () => unknown, text: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof TonewallError && e.code === 'ESDP' && text.test(e.message));
}

describe('SDP offer/answer (RFC 4566, RFC 3264, RFC 4733)', () => {
  it('RFC 3264 §5: the offer lists the codecs in config order plus telephone-event 101 0-15, ptime, sendrecv, c= and o=', () => {
    const sdp = buildOffer(LOCAL);
    const p = sdpTransform.parse(sdp);
    assert.equal(p.origin?.address, '192.0.2.5');
    assert.equal(p.origin?.sessionId, 42);
    assert.equal(p.connection?.ip, '192.0.2.5');
    const m = p.media[0];
    assert.ok(m);
    assert.equal(m.port, 20002);
    assert.equal(m.protocol, 'RTP/AVP');
    assert.equal(String(m.payloads), '8 0 101');
    assert.deepEqual(m.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate ?? ''}`), ['8 PCMA/8000', '0 PCMU/8000', '101 telephone-event/8000']);
    assert.deepEqual(m.fmtp.map((f) => `${f.payload} ${f.config}`), ['101 0-15']);
    assert.equal(m.ptime, 20);
    assert.equal(m.direction, 'sendrecv');
    assert.match(sdp, /\r\n$/);
  });

  it('RFC 3264 §6.1: answering picks the first offered codec we support and keeps telephone-event', () => {
    const offer = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18 0 8 96\r\na=rtpmap:96 telephone-event/8000\r\na=ptime:30\r\n';
    const { sdp, media } = answerOffer(offer, LOCAL);
    assert.deepEqual(media, { address: '10.0.0.1', port: 4000, codec: 'PCMU', payloadType: 0, telephoneEventPt: 96, ptimeMs: 30, direction: 'sendrecv', rtcpPort: 4001, rtcpMux: false });
    const m = sdpTransform.parse(sdp).media[0];
    assert.equal(String(m?.payloads), '0 96');
    assert.equal(m?.ptime, 30);
  });

  it('RFC 3551 §6: static payload types are recognised without rtpmap; media-level c= wins', () => {
    const answer = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8\r\nc=IN IP4 10.0.0.9\r\n';
    const m = parseAnswer(answer, { codecs: ['PCMU', 'PCMA'], ptimeMs: 20 });
    assert.deepEqual(m, { address: '10.0.0.9', port: 6000, codec: 'PCMA', payloadType: 8, ptimeMs: 20, direction: 'sendrecv', rtcpPort: 6001, rtcpMux: false });
  });

  it('no common codec is an error naming what was offered and what we support', () => {
    const answer = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 9 18\r\na=rtpmap:9 G722/8000\r\na=rtpmap:18 G729/8000\r\n';
    throwsSdp(() => parseAnswer(answer, { codecs: ['PCMU'], ptimeMs: 20 }), /no common codec: SDP answer has 9 G722\/8000, 18 G729\/8000; we support PCMU/);
  });

  it('rejected stream (port 0), missing c=, missing m=audio, non-SDP and SRTP profiles are clear errors', () => {
    const base = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n';
    throwsSdp(() => parseAnswer(base + 'c=IN IP4 10.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n', { codecs: ['PCMU'], ptimeMs: 20 }), /rejected the audio stream \(port 0\)/);
    throwsSdp(() => parseAnswer(base + 'm=audio 5000 RTP/AVP 0\r\n', { codecs: ['PCMU'], ptimeMs: 20 }), /no c= line/);
    throwsSdp(() => parseAnswer(base + 'c=IN IP4 10.0.0.1\r\nm=video 5000 RTP/AVP 96\r\n', { codecs: ['PCMU'], ptimeMs: 20 }), /no m=audio line \(media: video\)/);
    throwsSdp(() => parseAnswer('hello', { codecs: ['PCMU'], ptimeMs: 20 }), /is not SDP/);
    throwsSdp(() => parseAnswer(base + 'c=IN IP4 10.0.0.1\r\nm=audio 5000 RTP/SAVP 0\r\n', { codecs: ['PCMU'], ptimeMs: 20 }), /SDP answer uses RTP\/SAVP but we offered plain RTP\/AVP/);
    throwsSdp(() => parseAnswer(base + 'c=IN IP4 10.0.0.1\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 0\r\n', { codecs: ['PCMU'], ptimeMs: 20 }), /"UDP\/TLS\/RTP\/SAVPF" is not RTP\/AVP or RTP\/SAVP/);
  });

  it('reads the direction attribute', () => {
    const answer = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=recvonly\r\n';
    assert.equal(parseAnswer(answer, { codecs: ['PCMU'], ptimeMs: 20 }).direction, 'recvonly');
  });
});
