import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { nullLogger } from '../../../hw/base/logger';
import { ChannelPipeline, type RtpMediaPort } from '../../../controller/media/channel-pipeline';
import { decode, encode } from '../../../controller/media/g711';
import type { RtpPacket } from '../../../controller/media/rtp-packet';
import type { RtpCounters } from '../../../controller/media/rtp-session';
import { TransparentUplink, type UplinkProcessor } from '../../../controller/media/uplink-processor';

class FakeRtp extends EventEmitter implements RtpMediaPort {
  readonly sent: Array<{ pt: number; payload: Buffer; samples: number }> = [];
  readonly counters: RtpCounters = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, lost: 0, outOfOrder: 0, duplicates: 0, badPackets: 0, wrongPayloadType: 0, foreignSsrc: 0, ssrcChanges: 0, srtpRejected: 0, srtcpRejected: 0, srtpBeforeAnswer: 0, rtcpSent: 0, rtcpReceived: 0, badRtcp: 0, remoteByes: 0 };
  readonly markers: boolean[] = [];
  readonly offsets: number[] = [];
  send(payloadType: number, payload: Uint8Array, samples: number, marker = false, timestampOffset = 0): void {
    this.sent.push({ pt: payloadType, payload: Buffer.from(payload), samples });
    this.markers.push(marker);
    this.offsets.push(timestampOffset);
  }
  deliver(p: Partial<RtpPacket> & { timestamp: number; payload: Buffer; payloadType: number }): void {
    this.emit('packet', { marker: false, sequence: 0, ssrc: 1, csrcs: [], extension: undefined, paddingBytes: 0, ...p });
  }
}

function ramp(n: number, start: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => ((start + i) * 97) % 20000 - 10000);
}

describe('per-channel media pipeline', () => {
  it('uplink: card chunks are packetized every ptime (20 ms = 160 samples), transcoded to the negotiated law', () => {
    const rtp = new FakeRtp();
    const p = new ChannelPipeline({ cardLaw: 'alaw', rtpCodecLaw: 'ulaw', ptimeMs: 20, rtp, uplink: new TransparentUplink(), log: nullLogger });
    const linear = ramp(400, 0);
    const card = Buffer.from(encode('alaw', linear));
    for (let o = 0; o < 400; o += 50) p.fromCard(card.subarray(o, o + 50));
    assert.equal(rtp.sent.length, 2, '400 samples = 2 full packets, 80 pending');
    for (const s of rtp.sent) {
      assert.equal(s.pt, 0);
      assert.equal(s.samples, 160);
      assert.equal(s.payload.length, 160);
    }
    const expected = Buffer.from(encode('ulaw', decode('alaw', card.subarray(0, 320))));
    assert.deepEqual(Buffer.concat(rtp.sent.map((s) => s.payload)), expected);
  });

  it('uplink: the processor output is what is sent (not the input)', () => {
    const rtp = new FakeRtp();
    const zeroing: UplinkProcessor = { latencySamples: 0, process: (_i, o) => o.fill(0) };
    const p = new ChannelPipeline({ cardLaw: 'ulaw', rtpCodecLaw: 'ulaw', ptimeMs: 10, rtp, uplink: zeroing, log: nullLogger });
    p.fromCard(Buffer.from(encode('ulaw', ramp(80, 3))));
    assert.deepEqual([...new Set(rtp.sent[0]?.payload)], [0xff]);
  });

  it('uplink: a processor that throws fails closed (silence sent) and is counted', () => {
    const rtp = new FakeRtp();
    const broken: UplinkProcessor = { latencySamples: 0, process: () => { throw new Error('boom'); } };
    const p = new ChannelPipeline({ cardLaw: 'ulaw', rtpCodecLaw: 'alaw', ptimeMs: 10, rtp, uplink: broken, log: nullLogger });
    p.fromCard(Buffer.from(encode('ulaw', ramp(80, 0))));
    assert.deepEqual([...new Set(rtp.sent[0]?.payload)], [0xd5]);
    assert.equal(p.counters.uplinkFailures, 1);
  });

  it('downlink: toCard returns 80 bytes of card law: silence first, then the jitter-buffered RTP audio', () => {
    const rtp = new FakeRtp();
    const events: string[] = [];
    const p = new ChannelPipeline({
      cardLaw: 'alaw', rtpCodecLaw: 'ulaw', ptimeMs: 20, rtp, uplink: new TransparentUplink(), log: nullLogger, jitterTargetMs: 20, telephoneEventPt: 101, playTelephoneEvents: false,
      onTelephoneEvent: (ev, ts) => events.push(`${ev.event}${ev.end ? 'E' : ''}@${ts}`),
    });
    assert.deepEqual(p.toCard(), Buffer.alloc(80, 0xd5));
    const audio = Buffer.from(encode('ulaw', ramp(160, 5)));
    rtp.deliver({ timestamp: 1000, payload: audio, payloadType: 0 });
    rtp.deliver({ timestamp: 1160, payload: Buffer.from('07800320', 'hex'), payloadType: 101 });
    rtp.deliver({ timestamp: 1160, payload: Buffer.alloc(3), payloadType: 101 });
    const out = Buffer.concat([p.toCard(), p.toCard()]);
    assert.deepEqual(out, Buffer.from(encode('alaw', decode('ulaw', audio))));
    assert.equal(p.counters.telephoneEvents, 2);
    assert.equal(p.counters.badTelephoneEvents, 1);
    assert.deepEqual(events, ['7E@1160'], 'the RFC 4733 event is handed up, not played');
    assert.equal(p.counters.framesToCard, 3);
  });

  it('rejects card chunks longer than 10 ms and unsupported ptimes', () => {
    const rtp = new FakeRtp();
    const p = new ChannelPipeline({ cardLaw: 'ulaw', rtpCodecLaw: 'ulaw', ptimeMs: 20, rtp, uplink: new TransparentUplink(), log: nullLogger });
    assert.throws(() => p.fromCard(Buffer.alloc(81)), /card chunk of 81 bytes exceeds 80/);
    assert.throws(() => new ChannelPipeline({ cardLaw: 'ulaw', rtpCodecLaw: 'ulaw', ptimeMs: 25, rtp, uplink: new TransparentUplink(), log: nullLogger }), /ptime 25 ms/);
  });
});
