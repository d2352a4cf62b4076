/** RFC 4733 both ways through the channel pipeline: agent events → in-band DTMF to the card; uplink events only per policy, never in secure mode. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { nullLogger } from '../../../hw/base/logger';
import { ChannelPipeline, type RtpMediaPort } from '../../../controller/media/channel-pipeline';
import { decode, encode } from '../../../controller/media/g711';
import type { RtpPacket } from '../../../controller/media/rtp-packet';
import { decodeTelephoneEvents, encodeTelephoneEvent, DTMF_EVENT_CHARS } from '../../../controller/media/rtp-event';
import type { RtpCounters } from '../../../controller/media/rtp-session';
import { TelephoneEventPlayer } from '../../../controller/media/telephone-event-player';
import { TransparentUplink } from '../../../controller/media/uplink-processor';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { DTMF_DIGITS, dtmfTone, type DtmfDigit } from '../../../controller/dsp/tone-generator';
import { UplinkDsp } from '../../../controller/dsp/uplink-dsp';

class FakeRtp extends EventEmitter implements RtpMediaPort {
  readonly sent: Array<{ pt: number; payload: Buffer; marker: boolean; offset: number }> = [];
  readonly counters: RtpCounters = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, lost: 0, outOfOrder: 0, duplicates: 0, badPackets: 0, wrongPayloadType: 0, foreignSsrc: 0, ssrcChanges: 0, srtpRejected: 0, srtcpRejected: 0, srtpBeforeAnswer: 0, rtcpSent: 0, rtcpReceived: 0, badRtcp: 0, remoteByes: 0 };
  send(payloadType: number, payload: Uint8Array, _samples: number, marker = false, timestampOffset = 0): void {
    this.sent.push({ pt: payloadType, payload: Buffer.from(payload), marker, offset: timestampOffset });
  }
  event(ts: number, event: number, durationSamples: number, end: boolean): void {
    const p: RtpPacket = { marker: false, payloadType: 101, sequence: 0, timestamp: ts, ssrc: 1, csrcs: [], extension: undefined, paddingBytes: 0, payload: encodeTelephoneEvent({ event, end, volumeDbm0: 10, durationSamples }) };
    this.emit('packet', p);
  }
}

const ev = (c: string): number => DTMF_EVENT_CHARS.indexOf(c);

/** Runs `blocks` 10 ms card ticks; `at(block)` may deliver packets before each tick. Returns the digits detected in what went to the card. */
function runDownlink(at: (block: number, rtp: FakeRtp) => void, blocks: number): { digits: string; pipeline: ChannelPipeline } {
  const rtp = new FakeRtp();
  const p = new ChannelPipeline({ cardLaw: 'ulaw', rtpCodecLaw: 'ulaw', ptimeMs: 20, rtp, uplink: new TransparentUplink(), log: nullLogger, telephoneEventPt: 101 });
  const card: Int16Array[] = [];
  for (let b = 0; b < blocks; b++) {
    at(b, rtp);
    card.push(decode('ulaw', p.toCard()));
  }
  const all = new Int16Array(card.length * 80);
  card.forEach((c, i) => all.set(c, i * 80));
  return { digits: detectDigits(all).map((d) => DTMF_DIGITS.charAt(d.code)).join(''), pipeline: p };
}

describe('RFC 4733 toward the PSTN (agent events → in-band DTMF)', () => {
  it('§2.5.1.4 an event with updates and three end packets is played once, detectable by a Q.24 receiver', () => {
    const { digits, pipeline } = runDownlink((b, rtp) => {
      if (b >= 0 && b < 10 && b % 5 === 0) rtp.event(8000, ev('5'), (b + 5) * 80, false);
      if (b >= 10 && b < 13) rtp.event(8000, ev('5'), 800, true);
    }, 40);
    assert.equal(digits, '5');
    assert.equal(pipeline.counters.events.digitsPlayed, 1);
  });

  it('§2.5.2 retransmitted end packets and late duplicates of an ended event never replay the digit', () => {
    const { digits, pipeline } = runDownlink((b, rtp) => {
      if (b === 0) rtp.event(8000, ev('1'), 160, false);
      if (b >= 6 && b <= 8) rtp.event(8000, ev('1'), 480, true);
      if (b === 20 || b === 25) rtp.event(8000, ev('1'), 480, true); // after the tone finished
      if (b === 30) rtp.event(8000, ev('1'), 160, false); // a stray start of the same event
    }, 50);
    assert.equal(digits, '1');
    assert.ok(pipeline.counters.events.duplicatePackets >= 3);
  });

  it('a lost end: the event ends after the timeout; a new event (new timestamp) ends the previous one', () => {
    const timeout = runDownlink((b, rtp) => {
      if (b === 0 || b === 5) rtp.event(8000, ev('9'), (b + 5) * 80, false);
    }, 80);
    assert.equal(timeout.digits, '9');
    assert.equal(timeout.pipeline.counters.events.lostEnds, 1);
    const next = runDownlink((b, rtp) => {
      if (b === 0 || b === 5) rtp.event(8000, ev('2'), (b + 5) * 80, false);
      if (b === 10) rtp.event(9600, ev('#'), 160, false);
      if (b >= 16 && b <= 18) rtp.event(9600, ev('#'), 640, true);
    }, 60);
    assert.equal(next.digits, '2#', 'both digits, each once, separated by a pause');
  });

  it('only the end packets arrived: the digit is played with the duration they carry (at least 40 ms)', () => {
    const { digits } = runDownlink((b, rtp) => {
      if (b >= 2 && b <= 4) rtp.event(8000, ev('*'), 400, true);
    }, 30);
    assert.equal(digits, '*');
  });

  it('events above 15 are not DTMF: counted, nothing played', () => {
    const player = new TelephoneEventPlayer();
    player.onEvent({ event: 40, end: false, volumeDbm0: 10, durationSamples: 160 }, 1);
    assert.equal(player.active, false);
    assert.equal(player.counters.unsupportedEvents, 1);
  });
});

describe('RFC 4733 toward SIP: only per the masking pipeline policy', () => {
  function uplinkRun(secure: boolean, uplinkEvents: boolean): { rtp: FakeRtp; pipeline: ChannelPipeline; inband: string } {
    const rtp = new FakeRtp();
    const sink: { pipeline?: ChannelPipeline } = {};
    const dsp = new UplinkDsp({ policy: 'strip-always', onDigit: (e) => sink.pipeline?.uplinkDigit(e) });
    const pipeline = new ChannelPipeline({ cardLaw: 'ulaw', rtpCodecLaw: 'ulaw', ptimeMs: 20, rtp, uplink: dsp, log: nullLogger, telephoneEventPt: 101, uplinkEvents });
    sink.pipeline = pipeline;
    if (secure) dsp.enterSecure();
    const audio: number[] = [];
    for (const d of ['4', '1', '1', '1'] as DtmfDigit[]) {
      audio.push(...dtmfTone(d, { durationMs: 80 }), ...new Int16Array(640));
    }
    audio.push(...new Int16Array(1600));
    const card = Buffer.from(encode('ulaw', Int16Array.from(audio)));
    for (let o = 0; o + 80 <= card.length; o += 80) pipeline.fromCard(card.subarray(o, o + 80));
    const media = Buffer.concat(rtp.sent.filter((s) => s.pt === 0).map((s) => s.payload));
    return { rtp, pipeline, inband: detectDigits(decode('ulaw', media)).map((d) => DTMF_DIGITS.charAt(d.code)).join('') };
  }

  it('strip-always outside secure mode: the in-band tones are stripped and each digit leaves once as start + three end packets', () => {
    const { rtp, pipeline, inband } = uplinkRun(false, true);
    assert.equal(inband, '');
    const events = rtp.sent.filter((s) => s.pt === 101);
    assert.equal(events.length, 16);
    const decoded = events.map((s) => decodeTelephoneEvents(s.payload)[0]);
    assert.equal(decoded.filter((e) => e?.end === false).map((e) => DTMF_EVENT_CHARS.charAt(e?.event ?? -1)).join(''), '4111');
    assert.deepEqual(events.slice(0, 4).map((s) => s.marker), [true, false, false, false]);
    assert.ok(decoded.filter((e) => e?.end === true).every((e) => e !== undefined && e.durationSamples >= 320), "end packets carry the whole duration (≥ 40 ms)");
    assert.equal(pipeline.counters.uplinkEventsSent, 4);
  });

  it('DESIGN.md §5: in secure mode no telephone-event packet leaves and no tone survives in band', () => {
    const { rtp, pipeline, inband } = uplinkRun(true, true);
    assert.equal(rtp.sent.filter((s) => s.pt === 101).length, 0);
    assert.equal(inband, '');
    assert.equal(pipeline.counters.uplinkEventsSent, 0);
    assert.equal(pipeline.counters.uplinkEventsRefused, 4);
  });

  it('with uplink events off (the default) nothing is signalled either', () => {
    const { rtp } = uplinkRun(false, false);
    assert.equal(rtp.sent.filter((s) => s.pt === 101).length, 0);
  });
});
