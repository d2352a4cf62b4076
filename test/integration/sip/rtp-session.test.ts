/** RtpSession on real UDP sockets (127.0.0.1): port choice, sending, receive validation, symmetric RTP, RTCP. */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { nullLogger } from '../../../hw/base/logger';
import { RtpSession } from '../../../controller/media/rtp-session';
import { decodeRtp, encodeRtp } from '../../../controller/media/rtp-packet';
import { decodeRtcpCompound } from '../../../controller/media/rtcp-packet';
import { sleep, waitFor } from '../../lib/sip-call-harness';

function udp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

describe('RtpSession (RFC 3550) over UDP', () => {
  const sessions: RtpSession[] = [];
  const sockets: dgram.Socket[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await Promise.all(sockets.splice(0).map(closeSocket));
  });

  async function open(portMin = 42000, portMax = 42999): Promise<RtpSession> {
    const s = await RtpSession.open({ bindAddress: '127.0.0.1', portMin, portMax, acceptPayloadTypes: [0, 101], log: nullLogger });
    sessions.push(s);
    return s;
  }

  it('§11 binds an even port in the range and skips busy ones', async () => {
    const busy = dgram.createSocket('udp4');
    sockets.push(busy);
    await new Promise<void>((r) => busy.bind(43000, '127.0.0.1', () => r()));
    const s = await open(43000, 43002);
    assert.equal(s.localPort, 43002);
    await assert.rejects(open(43000, 43001), /no free even RTP port in 43000-43001/);
  });

  it('§5.1 sends consecutive sequence numbers, timestamps advancing by the samples, marker on the first packet only, one SSRC', async () => {
    const peer = await udp();
    sockets.push(peer);
    const got: Buffer[] = [];
    peer.on('message', (m) => got.push(m));
    const s = await open();
    s.setRemote('127.0.0.1', peer.address().port);
    for (let i = 0; i < 3; i++) s.send(0, Buffer.alloc(160, i), 160);
    await waitFor('3 packets', 3000, (resolve) => {
      const t = setInterval(() => got.length >= 3 && (clearInterval(t), resolve(undefined)), 10);
    });
    const pkts = got.map(decodeRtp);
    assert.deepEqual(pkts.map((p) => p.marker), [true, false, false]);
    assert.deepEqual(pkts.map((p) => (p.sequence - (pkts[0]?.sequence ?? 0)) & 0xffff), [0, 1, 2]);
    assert.deepEqual(pkts.map((p) => (p.timestamp - (pkts[0]?.timestamp ?? 0)) >>> 0), [0, 160, 320]);
    assert.equal(new Set(pkts.map((p) => p.ssrc)).size, 1);
    assert.equal(pkts[0]?.ssrc, s.ssrc);
    assert.equal(s.counters.packetsSent, 3);
    assert.equal(s.counters.bytesSent, 3 * 172);
  });

  it('receive: counts bad versions, wrong payload types, foreign SSRCs, loss and reordering; latches to the source after 3 valid packets', async () => {
    const s = await open();
    s.setRemote('127.0.0.1', 9); // what the SDP said; the peer really sends from elsewhere
    const peer = await udp();
    sockets.push(peer);
    const packets: number[] = [];
    s.on('packet', (p) => packets.push(p.sequence));
    const send = (buf: Buffer): void => peer.send(buf, s.localPort, '127.0.0.1');
    const rtp = (seq: number, pt = 0, ssrc = 1111): Buffer => encodeRtp({ payloadType: pt, sequence: seq, timestamp: seq * 160, ssrc, payload: Buffer.alloc(160, 0x7f) });
    send(Buffer.from('000000000000000000000000', 'hex')); // version 0
    send(rtp(1, 18)); // G.729 not negotiated
    send(rtp(10));
    send(rtp(11));
    send(rtp(14)); // 12, 13 lost
    send(rtp(12)); // one of them arrives late
    send(rtp(99, 0, 2222)); // another SSRC: dropped during probation
    send(rtp(15, 101)); // telephone-event is negotiated too
    await waitFor('6 accepted packets', 3000, (resolve) => {
      const t = setInterval(() => packets.length >= 5 && s.counters.foreignSsrc >= 1 && (clearInterval(t), resolve(undefined)), 10);
    });
    await sleep(50);
    assert.deepEqual(packets, [10, 11, 14, 12, 15]);
    assert.equal(s.counters.badPackets, 1);
    assert.equal(s.counters.wrongPayloadType, 1);
    assert.equal(s.counters.foreignSsrc, 1);
    assert.equal(s.counters.lost, 1);
    assert.equal(s.counters.outOfOrder, 1);
    assert.deepEqual(s.remoteAddress, { address: '127.0.0.1', port: peer.address().port }, 'symmetric RTP latched to the real source');
  });
  it('RFC 4961 latching: not before 3 consecutive valid packets, never to a source of a foreign SSRC', async () => {
    const s = await open();
    s.setRemote('127.0.0.1', 9);
    const peer = await udp();
    const intruder = await udp();
    sockets.push(peer, intruder);
    const rtp = (seq: number, ssrc: number): Buffer => encodeRtp({ payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc, payload: Buffer.alloc(160, 0x7f) });
    let n = 0;
    s.on('packet', () => n++);
    peer.send(rtp(1, 1111), s.localPort, '127.0.0.1');
    peer.send(rtp(2, 1111), s.localPort, '127.0.0.1');
    await waitFor('2 packets', 3000, (resolve) => {
      const t = setInterval(() => n >= 2 && (clearInterval(t), resolve(undefined)), 5);
    });
    assert.equal(s.isLatched, false);
    intruder.send(rtp(3, 9999), s.localPort, '127.0.0.1');
    intruder.send(rtp(4, 9999), s.localPort, '127.0.0.1');
    peer.send(rtp(3, 1111), s.localPort, '127.0.0.1');
    await waitFor('3 packets', 3000, (resolve) => {
      const t = setInterval(() => n >= 3 && (clearInterval(t), resolve(undefined)), 5);
    });
    assert.equal(s.isLatched, true);
    assert.deepEqual(s.remoteAddress, { address: '127.0.0.1', port: peer.address().port });
    assert.equal(s.counters.foreignSsrc, 2);
  });

  it('RFC 3550 §6: two sessions exchange SR/RR on RTP port + 1: loss, jitter and RTT figures; BYE on close', async () => {
    const a = await RtpSession.open({ bindAddress: '127.0.0.1', portMin: 42000, portMax: 42999, acceptPayloadTypes: [0], log: nullLogger, rtcpIntervalMs: 60 });
    const b = await RtpSession.open({ bindAddress: '127.0.0.1', portMin: 42000, portMax: 42999, acceptPayloadTypes: [0], log: nullLogger, rtcpIntervalMs: 60 });
    sessions.push(a);
    a.setRemote('127.0.0.1', b.localPort);
    b.setRemote('127.0.0.1', a.localPort);
    const byes: Array<string | undefined> = [];
    a.on('bye', (r) => byes.push(r));
    for (let i = 0; i < 50; i++) a.send(0, Buffer.alloc(160, 0x7f), 160);
    for (let i = 0; i < 50; i++) b.send(0, Buffer.alloc(160, 0x7f), 160);
    await waitFor('an RTT on both sides', 5000, (resolve) => {
      const t = setInterval(() => a.rttMs !== undefined && b.rttMs !== undefined && (clearInterval(t), resolve(undefined)), 10);
    });
    assert.ok((a.rttMs ?? -1) >= 0 && (a.rttMs ?? 1e9) < 1000, `rtt ${a.rttMs}`);
    assert.ok(a.counters.rtcpSent >= 1 && a.counters.rtcpReceived >= 1 && a.counters.badRtcp === 0);
    assert.deepEqual(a.remoteView && { lost: a.remoteView.cumulativeLost, fraction: a.remoteView.fractionLost }, { lost: 0, fraction: 0 });
    await b.close('test over');
    await waitFor('BYE', 3000, (resolve) => {
      const t = setInterval(() => byes.length > 0 && (clearInterval(t), resolve(undefined)), 10);
    });
    assert.deepEqual(byes, ['test over']);
  });

  it('RFC 3550 §6.4.1: report blocks count the packets a peer really lost; RFC 5761 rtcp-mux on the RTP port', async () => {
    const s = await RtpSession.open({ bindAddress: '127.0.0.1', portMin: 42000, portMax: 42999, acceptPayloadTypes: [0], log: nullLogger, rtcpIntervalMs: 40 });
    sessions.push(s);
    const peer = await udp();
    sockets.push(peer);
    const rtcp: Buffer[] = [];
    peer.on('message', (m) => {
      if (m[1] !== undefined && m[1] >= 192 && m[1] <= 223) rtcp.push(m);
    });
    s.setRemote('127.0.0.1', peer.address().port, { mux: true });
    for (let i = 0; i < 20; i++) {
      if (i % 5 === 4) continue; // 4 of 20 lost
      peer.send(encodeRtp({ payloadType: 0, sequence: 100 + i, timestamp: i * 160, ssrc: 4242, payload: Buffer.alloc(160, 0x7f) }), s.localPort, '127.0.0.1');
    }
    await waitFor('a report with a block', 5000, (resolve) => {
      const t = setInterval(() => {
        const withBlock = rtcp.map(decodeRtcpCompound).find((c) => { const f = c[0]; return f !== undefined && (f.type === 'rr' || f.type === 'sr') && f.reports.length > 0 && f.reports[0]?.extendedHighestSeq === 118; });
        if (withBlock) {
          clearInterval(t);
          resolve(undefined);
        }
      }, 10);
    });
    const last = rtcp.map(decodeRtcpCompound).map((c) => c[0]).find((f) => f !== undefined && (f.type === 'rr' || f.type === 'sr') && f.reports[0]?.extendedHighestSeq === 118);
    assert.ok(last && (last.type === 'rr' || last.type === 'sr'));
    assert.equal(last.reports[0]?.ssrc, 4242);
    // 100..118 expected (119 was never sent), 104, 109 and 114 lost.
    assert.equal(last.reports[0]?.cumulativeLost, 3);
  });
});
