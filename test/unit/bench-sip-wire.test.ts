/**
 * The wire analysis of `npm run bench:sip` (bench/sip-pcap.ts, bench/sip-wire.ts): classic pcap
 * records → UDP datagrams, SIP processing times per dialog (RFC 3261 §17.2.1 100 Trying, §13.2.2.4
 * ACK for a 2xx), and the RTP send interval deviation (RFC 3550 §5.1 sequence numbers and timestamps).
 */
import assert from 'node:assert/strict';
import { parsePcap, udpOfFrame, type UdpDatagram } from '../../bench/sip-pcap';
import { percentile, rtpReceivedByPort, rtpSendStats, sipTimes, summariseSip } from '../../bench/sip-wire';

/** An Ethernet + IPv4 + UDP frame as Linux `lo` gives it. */
function ethFrame(srcPort: number, dstPort: number, payload: Buffer, fragmentOffset = 0): Buffer {
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(fragmentOffset, 6);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(17, 9);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(srcPort, 0);
  udp.writeUInt16BE(dstPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([eth, ip, udp, payload]);
}

function pcapFile(records: { tsUs: number; frame: Buffer }[], opts: { bigEndian?: boolean; truncateLast?: number } = {}): Buffer {
  const w32 = (b: Buffer, v: number, o: number): void => {
    if (opts.bigEndian) b.writeUInt32BE(v, o);
    else b.writeUInt32LE(v, o);
  };
  const head = Buffer.alloc(24);
  w32(head, 0xa1b2c3d4, 0);
  w32(head, 65535, 16);
  w32(head, 1, 20);
  const parts: Buffer[] = [head];
  for (const r of records) {
    const h = Buffer.alloc(16);
    w32(h, Math.floor(r.tsUs / 1e6), 0);
    w32(h, r.tsUs % 1e6, 4);
    w32(h, r.frame.length, 8);
    w32(h, r.frame.length, 12);
    parts.push(h, r.frame);
  }
  const all = Buffer.concat(parts);
  return opts.truncateLast ? all.subarray(0, all.length - opts.truncateLast) : all;
}

const sip = (lines: string[]): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const at = (tsUs: number, srcPort: number, dstPort: number, payload: Buffer): UdpDatagram => ({ tsUs, srcPort, dstPort, payload });

function rtp(pt: number, seq: number, ts: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 160);
  b.writeUInt8(0x80, 0);
  b.writeUInt8(pt, 1);
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

describe('bench:sip wire analysis', () => {
  describe('classic pcap reader', () => {
    it('reads the UDP datagrams of Ethernet records in either byte order, with µs capture times', () => {
      for (const bigEndian of [false, true]) {
        const file = pcapFile([{ tsUs: 1_700_000_000_123_456, frame: ethFrame(5060, 30000, Buffer.from('hello')) }, { tsUs: 1_700_000_000_143_456, frame: ethFrame(30000, 6000, Buffer.from('x')) }], { bigEndian });
        const ds = parsePcap(file);
        assert.deepEqual(
          ds.map((d) => [d.tsUs, d.srcPort, d.dstPort, d.payload.toString()]),
          [
            [1_700_000_000_123_456, 5060, 30000, 'hello'],
            [1_700_000_000_143_456, 30000, 6000, 'x'],
          ],
        );
      }
    });

    it('drops a last record cut short by the capture stopping, and refuses pcapng or a short file', () => {
      const file = pcapFile([{ tsUs: 1e6, frame: ethFrame(1, 2, Buffer.from('a')) }, { tsUs: 2e6, frame: ethFrame(3, 4, Buffer.from('b')) }], { truncateLast: 3 });
      assert.equal(parsePcap(file).length, 1);
      assert.throws(() => parsePcap(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a, ...new Array<number>(24).fill(0)])), /magic 0xa0d0d0a, expected 0xa1b2c3d4/);
      assert.throws(() => parsePcap(Buffer.alloc(10)), /10 bytes, expected at least the 24-byte global header/);
    });

    it('skips IP fragments and non-UDP frames', () => {
      assert.equal(udpOfFrame(1, ethFrame(1, 2, Buffer.from('a'), 0x2000), 0), undefined);
      const tcp = ethFrame(1, 2, Buffer.from('a'));
      tcp.writeUInt8(6, 14 + 9);
      assert.equal(udpOfFrame(1, tcp, 0), undefined);
      assert.equal(udpOfFrame(1, ethFrame(7, 8, Buffer.from('ok')), 5)?.dstPort, 8);
    });
  });

  describe('SIP processing times', () => {
    it('summarises start line, Call-ID (also compact i:) and CSeq method; not SIP → undefined', () => {
      assert.deepEqual(summariseSip(sip(['INVITE sip:8000@127.0.0.1 SIP/2.0', 'Call-ID: a1', 'CSeq: 1 INVITE'])), { method: 'INVITE', status: undefined, callId: 'a1', cseqMethod: 'INVITE' });
      assert.deepEqual(summariseSip(sip(['SIP/2.0 100 Trying', 'i: a1', 'CSeq: 1 INVITE'])), { method: undefined, status: 100, callId: 'a1', cseqMethod: 'INVITE' });
      assert.equal(summariseSip(rtp(8, 1, 160, 7)), undefined);
      assert.equal(summariseSip(sip(['SIP/2.0 100 Trying', 'CSeq: 1 INVITE'])), undefined);
    });

    it('INVITE → 100 Trying and INVITE → 200 OK per dialog from the first INVITE (retransmissions ignored); 200 OK → ACK only when the appliance is the UAC', () => {
      const app = 5062;
      const times = sipTimes(
        [
          at(1_000_000, 5060, app, sip(['INVITE sip:8000@x SIP/2.0', 'Call-ID: c1', 'CSeq: 1 INVITE'])),
          at(1_000_500, 5060, app, sip(['INVITE sip:8000@x SIP/2.0', 'Call-ID: c1', 'CSeq: 1 INVITE'])),
          at(1_001_250, app, 5060, sip(['SIP/2.0 100 Trying', 'Call-ID: c1', 'CSeq: 1 INVITE'])),
          at(1_001_900, app, 5060, sip(['SIP/2.0 100 Trying', 'Call-ID: c1', 'CSeq: 1 INVITE'])),
          at(1_100_000, app, 5060, sip(['SIP/2.0 200 OK', 'Call-ID: c1', 'CSeq: 1 INVITE'])),
          at(1_600_000, app, 5060, sip(['SIP/2.0 200 OK', 'Call-ID: c1', 'CSeq: 1 INVITE'])),
          at(1_100_300, 5060, app, sip(['ACK sip:8000@x SIP/2.0', 'Call-ID: c1', 'CSeq: 1 ACK'])),
          at(2_000_000, app, 7000, sip(['INVITE sip:1@y SIP/2.0', 'Call-ID: p1', 'CSeq: 1 INVITE'])),
          at(2_050_000, 7000, app, sip(['SIP/2.0 200 OK', 'Call-ID: p1', 'CSeq: 1 INVITE'])),
          at(2_050_800, app, 7000, sip(['ACK sip:1@y SIP/2.0', 'Call-ID: p1', 'CSeq: 1 ACK'])),
          at(2_060_000, app, 9999, sip(['ACK sip:1@y SIP/2.0', 'Call-ID: p1', 'CSeq: 1 ACK'])),
        ],
        app,
      );
      assert.deepEqual(times, { inviteToTryingMs: [1.25], inviteToOkMs: [100], okToAckMs: [0.8] });
    });
  });

  describe('RTP send intervals', () => {
    it('|interval − ptime| between consecutive packets of each stream; events, RTCP and other ports ignored; a sequence gap is not an interval', () => {
      const ds: UdpDatagram[] = [
        at(0, 30000, 6000, rtp(8, 10, 0, 1)),
        at(20_500, 30000, 6000, rtp(8, 11, 160, 1)),
        at(39_000, 30000, 6000, rtp(8, 12, 320, 1)),
        at(40_000, 30000, 6000, rtp(101, 13, 320, 1)),
        at(80_000, 30000, 6000, rtp(8, 15, 640, 1)),
        at(5_000, 30002, 6002, rtp(0, 65535, 4294967136, 2)),
        at(25_000, 30002, 6002, rtp(0, 0, 0, 2)),
        at(25_000, 30001, 6001, Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])),
        at(30_000, 6000, 30000, rtp(8, 1, 0, 9)),
        at(50_000, 6000, 30000, rtp(8, 2, 160, 9)),
      ];
      const s = rtpSendStats(ds, 30000, 30999);
      assert.deepEqual(
        s.deviationsMs.map((x) => Number(x.toFixed(3))),
        [0.5, 1.5, 0],
      );
      assert.deepEqual(
        s.streams.map((x) => [x.srcPort, x.ssrc, x.packets]),
        [
          [30000, 1, 4],
          [30002, 2, 2],
        ],
      );
      assert.deepEqual([...rtpReceivedByPort(ds, 30000, 30999)], [[30000, 2]]);
    });

    it('nearest-rank percentiles', () => {
      const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
      assert.equal(percentile(xs, 50), 50);
      assert.equal(percentile(xs, 99), 99);
      assert.equal(percentile(xs, 100), 100);
      assert.equal(percentile([], 99), 0);
    });
  });
});
