/** Two media legs (rtpMediaFactory) talking SRTP (RFC 4568 SDES, RFC 3711) to each other over UDP on 127.0.0.1. */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { nullLogger } from '../../../hw/base/logger';
import { rtpMediaFactory } from '../../../controller/app/media-leg';
import type { MediaLeg } from '../../../controller/call/ports';
import { sipSchema } from '../../../controller/config/schema';
import { decode, encode } from '../../../controller/media/g711';
import { encodeRtp } from '../../../controller/media/rtp-packet';
import { TransparentUplink } from '../../../controller/media/uplink-processor';
import { sleep } from '../../lib/sip-call-harness';

function rms(x: Int16Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

describe('SRTP between two media legs', function () {
  this.timeout(20000);
  const legs: MediaLeg[] = [];
  afterEach(() => legs.splice(0).forEach((l) => l.close()));

  async function pair(srtpA: 'offer' | 'require', srtpB: 'offer' | 'require' | 'off'): Promise<{ a: MediaLeg; b: MediaLeg; bPort: number }> {
    const factory = (srtp: 'off' | 'offer' | 'require'): ReturnType<typeof rtpMediaFactory> =>
      rtpMediaFactory({ sip: sipSchema.parse({ srtp, rtpPortMin: 44000, rtpPortMax: 44999 }), log: nullLogger, uplink: () => new TransparentUplink() });
    const a = await factory(srtpA).open({ callId: 'a', cardLaw: 'ulaw' });
    const b = await factory(srtpB).open({ callId: 'b', cardLaw: 'ulaw' });
    legs.push(a, b);
    const answer = b.answerOffer?.(a.sdpOffer);
    assert.ok(answer, 'the media leg answers offers');
    a.applyAnswer(answer.sdp);
    const bPort = Number(/m=audio (\d+)/.exec(b.sdpOffer)?.[1]);
    return { a, b, bPort };
  }

  it('audio crosses encrypted (RTP/SAVP) both ways; the stats show no SRTP rejects', async () => {
    const { a, b } = await pair('require', 'require');
    assert.match(a.sdpOffer, /RTP\/SAVP/);
    const tone = Int16Array.from({ length: 8000 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    const card = Buffer.from(encode('ulaw', tone));
    const heardB: Int16Array[] = [];
    const heardA: Int16Array[] = [];
    for (let o = 0; o < card.length; o += 80) {
      a.fromCard(card.subarray(o, o + 80));
      b.fromCard(card.subarray(o, o + 80));
      await sleep(2);
      heardB.push(decode('ulaw', b.toCard()));
      heardA.push(decode('ulaw', a.toCard()));
    }
    await sleep(100);
    const lastB = heardB.slice(-20);
    assert.ok(lastB.some((x) => rms(x) > 2000), 'b plays a\'s tone');
    assert.ok(heardA.slice(-20).some((x) => rms(x) > 2000), 'a plays b\'s tone');
    const sb = b.stats();
    assert.ok(sb.packetsReceived >= 40, JSON.stringify(sb));
    assert.equal(sb['srtpRejected'], 0);
    assert.equal(sb['badPackets'], 0);
  });

  it('a tampered or unauthenticated packet is rejected and counted, never played', async () => {
    const { b, bPort } = await pair('require', 'require');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const forged = Buffer.concat([encodeRtp({ payloadType: 0, sequence: 1, timestamp: 160, ssrc: 99, payload: Buffer.alloc(160, 0x10) }), Buffer.alloc(10)]);
    for (let i = 0; i < 5; i++) sock.send(forged, bPort, '127.0.0.1');
    await sleep(200);
    sock.close();
    const s = b.stats();
    assert.equal(s['srtpRejected'], 5);
    assert.equal(s.packetsReceived, 0);
    assert.ok(decode('ulaw', b.toCard()).every((v) => v === 0), 'nothing played');
  });

  it('before the answer to an SRTP offer nothing that arrives is taken for media', async () => {
    const a = await rtpMediaFactory({ sip: sipSchema.parse({ srtp: 'offer', rtpPortMin: 44000, rtpPortMax: 44999 }), log: nullLogger, uplink: () => new TransparentUplink() }).open({ callId: 'early', cardLaw: 'ulaw' });
    legs.push(a);
    const aPort = Number(/m=audio (\d+)/.exec(a.sdpOffer)?.[1]);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // Plain RTP with a loud payload, as an injector racing the answer would send it.
    for (let i = 0; i < 6; i++) sock.send(encodeRtp({ payloadType: 0, sequence: 100 + i, timestamp: 160 * i, ssrc: 7, payload: Buffer.alloc(160, 0x00) }), aPort, '127.0.0.1');
    await sleep(200);
    sock.close();
    const s = a.stats();
    assert.equal(s['srtpBeforeAnswer'], 6);
    assert.equal(s['srtpRejected'], 0, 'not counted as authentication failures');
    assert.equal(s.packetsReceived, 0);
    assert.ok(decode('ulaw', a.toCard()).every((v) => v === 0), 'nothing played');
  });

  it('a plaintext RTCP datagram on an SRTP leg is counted apart from RTP rejects', async () => {
    const { b, bPort } = await pair('require', 'require');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // RTCP APP "PING"/"PONG" in the clear, the NAT keepalive some endpoints send (RFC 3550 §6.7).
    const app = Buffer.from('80cc0003000000015049 4e47504f4e47'.replace(/ /g, ''), 'hex');
    sock.send(app, bPort + 1, '127.0.0.1');
    await sleep(200);
    sock.close();
    const s = b.stats();
    assert.equal(s['srtcpRejected'], 1);
    assert.equal(s['srtpRejected'], 0);
    assert.equal(s['rtcpReceived'], 0);
  });

  it('policy: an answerer with sip.srtp off refuses an SRTP offer (488 upstream)', async () => {
    await assert.rejects(pair('require', 'off'), /RTP\/SAVP but sip.srtp is "off"/);
  });
});
