/** RTCP (RFC 3550 §6): packet codec, reception statistics (A.1, A.3, A.8), LSR/DLSR round trip. */
import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { decodeRtcpCompound, encodeBye, encodeReport, encodeSdesCname, looksLikeRtcp, type ReportBlock } from '../../../controller/media/rtcp-packet';
import { ReceptionStats, ntpFromUnixMs, ntpMiddle32, roundTripMs } from '../../../controller/media/rtcp-stats';
import { RtcpReporter } from '../../../controller/media/rtcp-reporter';
import { ManualClock } from '../../lib/manual-clock';

const block: ReportBlock = { ssrc: 0x11223344, fractionLost: 64, cumulativeLost: -3, extendedHighestSeq: 0x1fffe, jitter: 80, lastSr: 0xabcd1234, delaySinceLastSr: 65536 };

describe('RTCP packets (RFC 3550 §6.4-6.6)', () => {
  it('§6.4.1 SR with a report block, SDES CNAME and BYE round-trip as one compound packet', () => {
    const sr = encodeReport(7, { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, [block]);
    const compound = Buffer.concat([sr, encodeSdesCname(7, 'tonewall-ab'), encodeBye(7, 'bye now')]);
    assert.equal(compound.length % 4, 0);
    assert.ok(looksLikeRtcp(compound));
    const pkts = decodeRtcpCompound(compound);
    assert.deepEqual(pkts, [
      { type: 'sr', ssrc: 7, sender: { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, reports: [block] },
      { type: 'sdes', chunks: [{ ssrc: 7, items: [{ type: 1, text: 'tonewall-ab' }] }] },
      { type: 'bye', ssrcs: [7], reason: 'bye now' },
    ]);
  });

  it('§6.4.2 RR without reports; unknown packet types are passed over', () => {
    const app = Buffer.from('80cc0002000000074142434400000000', 'hex').subarray(0, 12);
    const pkts = decodeRtcpCompound(Buffer.concat([encodeReport(9, undefined, []), app]));
    assert.deepEqual(pkts, [{ type: 'rr', ssrc: 9, reports: [] }, { type: 'other', packetType: 204 }]);
  });

  it('A.2 rejects with a message naming the bad value: version, length overrun, first packet not SR/RR, report count', () => {
    const rr = encodeReport(9, undefined, [block]);
    const bad = (b: Buffer, re: RegExp): void => assert.throws(() => decodeRtcpCompound(b), (e: unknown) => e instanceof TonewallError && re.test(e.message));
    const v1 = Buffer.from(rr);
    v1[0] = 0x41;
    bad(v1, /RTCP version 1 at byte 0, expected 2/);
    bad(rr.subarray(0, rr.length - 4), /claims 32 bytes, 28 remain/);
    bad(encodeSdesCname(1, 'x'), /starts with packet type 202, expected SR \(200\) or RR \(201\)/);
    const rc = Buffer.from(rr);
    rc[0] = 0x82;
    bad(rc, /RR report count 2 needs 56 bytes, packet has 32/);
    bad(Buffer.alloc(2), /shorter than the 4-byte header/);
  });

  it('RFC 5761 §4: demultiplexes RTCP (PT 192-223) from RTP on a muxed port', () => {
    assert.equal(looksLikeRtcp(Buffer.from('80000001000000000000000a', 'hex')), false);
    assert.equal(looksLikeRtcp(Buffer.from('80c90001000000000000000a', 'hex')), true);
  });
});

describe('RTCP reception statistics (RFC 3550 A.1, A.3, A.8)', () => {
  it('A.3 expected, cumulative and fraction lost per interval; A.1 extended sequence across the wrap', () => {
    const s = new ReceptionStats();
    const seqs = [65530, 65531, 65533, 65534, 0, 1, 3];
    seqs.forEach((q, i) => s.onPacket(q, i * 160, i * 20));
    assert.equal(s.expected, 10);
    assert.equal(s.cumulativeLost, 3);
    assert.equal(s.extendedHighestSeq, 0x10003);
    const r = s.reportBlock(5, 200);
    assert.equal(r.fractionLost, Math.floor((3 * 256) / 10));
    assert.equal(r.cumulativeLost, 3);
    for (let i = 4; i < 14; i++) s.onPacket(i, i * 160, 200 + i * 20);
    assert.equal(s.reportBlock(5, 400).fractionLost, 0, 'no loss in the second interval');
  });

  it('A.8 interarrival jitter: zero for perfectly paced packets, converges to the transit spread', () => {
    const even = new ReceptionStats();
    for (let i = 0; i < 100; i++) even.onPacket(i, i * 160, i * 20);
    assert.equal(even.jitter, 0);
    const jittery = new ReceptionStats();
    for (let i = 0; i < 2000; i++) jittery.onPacket(i, i * 160, i * 20 + (i % 2 ? 10 : 0));
    // |D| is always 10 ms = 80 timestamp units, so J converges to 80 (10 ms).
    assert.ok(Math.abs(jittery.jitterMs - 10) < 0.01, `jitter ${jittery.jitterMs} ms`);
  });

  it('§6.4.1 RTT = A - LSR - DLSR', () => {
    const sentAt = 1_700_000_000_000;
    const lsr = ntpMiddle32(ntpFromUnixMs(sentAt));
    // The peer held our SR for 250 ms, we get its RR 330 ms after sending: RTT 80 ms.
    const rtt = roundTripMs({ lastSr: lsr, delaySinceLastSr: Math.round(0.25 * 65536) }, sentAt + 330);
    assert.ok(rtt !== undefined && Math.abs(rtt - 80) < 0.1, `rtt ${rtt}`);
    assert.equal(roundTripMs({ lastSr: 0, delaySinceLastSr: 0 }, sentAt), undefined);
  });

  it('two reporters measure each other: SR → RR with LSR/DLSR gives the RTT, sender info counts our packets', () => {
    const clock = new ManualClock();
    const a = new RtcpReporter(1, 'a', clock, () => 0.5);
    const b = new RtcpReporter(2, 'b', clock, () => 0.5);
    for (let i = 0; i < 50; i++) {
      b.onRtp(i, i * 160);
      a.noteSent();
      clock.advance(20);
    }
    const sr = a.build({ packets: 50, octets: 8600, rtpTimestamp: 8000 }, undefined);
    assert.equal(decodeRtcpCompound(sr)[0]?.type, 'sr');
    clock.advance(40); // one-way 40 ms
    b.receive(sr, 1);
    clock.advance(100); // b holds it 100 ms
    const rr = b.build({ packets: 0, octets: 0, rtpTimestamp: 0 }, 1);
    const first = decodeRtcpCompound(rr)[0];
    assert.equal(first?.type, 'rr');
    clock.advance(40);
    a.receive(rr, 2);
    assert.ok(a.rttMs !== undefined && Math.abs(a.rttMs - 80) < 1, `rtt ${a.rttMs}`);
    assert.deepEqual(a.remoteView, { fractionLost: 0, cumulativeLost: 0, jitterMs: 0 });
    assert.equal(a.counters.rtcpReceived, 1);
    assert.throws(() => a.receive(Buffer.from([1, 2, 3, 4]), 2), /RTCP version 0/);
    assert.equal(a.counters.badRtcp, 1);
  });

  it('§6.3.1 the interval is randomised within [0.5, 1.5] x and the first one halved', () => {
    let r = 0;
    const rep = new RtcpReporter(1, 'a', new ManualClock(), () => r);
    assert.equal(rep.nextIntervalMs(5000, false), 2500);
    r = 0.999;
    assert.equal(rep.nextIntervalMs(5000, false), 7495);
    assert.equal(rep.nextIntervalMs(5000, true), 3748);
  });
});
