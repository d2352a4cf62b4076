/** RtpSession on real UDP sockets (127.0.0.1): port choice, sending, receive validation, symmetric RTP. */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { nullLogger } from '../../../hw/base/logger';
import { RtpSession } from '../../../controller/media/rtp-session';
import { decodeRtp, encodeRtp } from '../../../controller/media/rtp-packet';
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

  it('receive: counts bad versions, wrong payload types, foreign SSRCs, loss and reordering; latches to the first valid source', async () => {
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
});
