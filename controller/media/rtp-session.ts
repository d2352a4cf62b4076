/**
 * One RTP session (RFC 3550) for one call leg: a UDP socket on an even port in
 * [rtpPortMin, rtpPortMax] (RFC 3550 §11; busy ports are skipped), random SSRC and random initial
 * sequence number and timestamp (§5.1), sending payloads with the marker bit on the first packet
 * of the talkspurt (RFC 3551 §4.1), and receiving with validation:
 *
 * - undecodable packets (bad version, bad lengths) → `badPackets`;
 * - payload type not negotiated → `wrongPayloadType`;
 * - a packet from another SSRC than the one we locked on → `foreignSsrc` (dropped); after
 *   `SSRC_PROBATION` consecutive packets from the same new SSRC we switch (`ssrcChanges`), as the
 *   peer may have restarted its stream (cf. RFC 3550 Appendix A.1 probation);
 * - loss / out-of-order / duplicate counted on the extended sequence number.
 *
 * Symmetric RTP (RFC 4961): the first valid packet latches the remote address to its source, so
 * media reaches peers behind NAT whatever their SDP said; the latch is logged and emitted.
 * RTCP SR/RR (RFC 3550 §6) is a later round: the RTCP port (RTP+1) is not opened yet.
 */
import { randomInt } from 'node:crypto';
import { TonewallError, errorCode } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import { createUdpSocket, type DatagramSocket, type RemoteInfo } from '../sip/core/transport';
import { decodeRtp, encodeRtp, seqDelta, type RtpPacket } from './rtp-packet';

export const SSRC_PROBATION = 3;

export interface RtpSessionOptions {
  bindAddress: string;
  portMin: number;
  portMax: number;
  /** Payload types we accept (media codec and telephone-event). */
  acceptPayloadTypes: readonly number[];
  log: Logger;
  socketFactory?: () => DatagramSocket;
  /** Random source for SSRC/sequence/timestamp/port start: returns an integer in [0, max). */
  random?: (max: number) => number;
}

export interface RtpCounters {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  lost: number;
  outOfOrder: number;
  duplicates: number;
  badPackets: number;
  wrongPayloadType: number;
  foreignSsrc: number;
  ssrcChanges: number;
}

export interface RtpSessionEvents {
  packet: [packet: RtpPacket];
  latched: [remote: RemoteInfo];
  error: [err: Error];
}

export class RtpSession extends TypedEmitter<RtpSessionEvents> {
  readonly counters: RtpCounters = {
    packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, lost: 0, outOfOrder: 0,
    duplicates: 0, badPackets: 0, wrongPayloadType: 0, foreignSsrc: 0, ssrcChanges: 0,
  };
  readonly ssrc: number;
  private seq: number;
  private ts: number;
  private firstSent = true;
  private remote: RemoteInfo | undefined;
  private latched = false;
  private remoteSsrc: number | undefined;
  private highestSeq: number | undefined;
  private candidate: { ssrc: number; count: number } | undefined;
  private closed = false;
  private accepted: number[];

  private constructor(
    private readonly socket: DatagramSocket,
    readonly localPort: number,
    private readonly opts: RtpSessionOptions,
    random: (max: number) => number,
  ) {
    super();
    this.accepted = [...opts.acceptPayloadTypes];
    this.ssrc = random(0x100000000) >>> 0;
    this.seq = random(0x10000);
    this.ts = random(0x100000000) >>> 0;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    socket.on('error', (err) => this.emit('error', err));
  }

  /** Binds an even port in [portMin, portMax], starting at a random one and skipping busy ports. */
  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    const random = opts.random ?? ((max: number) => randomInt(0, max));
    const first = opts.portMin + (opts.portMin % 2);
    const count = Math.floor((opts.portMax - first) / 2) + 1;
    if (count <= 0) throw new TonewallError('ERTPPORT', `RTP port range ${opts.portMin}-${opts.portMax} holds no even port`);
    const start = random(count);
    for (let i = 0; i < count; i++) {
      const port = first + 2 * ((start + i) % count);
      const socket = (opts.socketFactory ?? createUdpSocket)();
      try {
        await bind(socket, port, opts.bindAddress);
        return new RtpSession(socket, port, opts, random);
      } catch (err) {
        socket.close();
        if (errorCode(err) !== 'EADDRINUSE') throw err;
      }
    }
    throw new TonewallError('ERTPPORT', `no free even RTP port in ${opts.portMin}-${opts.portMax} on ${opts.bindAddress}`);
  }

  /** Replaces the accepted payload types (after SDP negotiation fixed them). */
  setAcceptedPayloadTypes(payloadTypes: readonly number[]): void {
    this.accepted = [...payloadTypes];
  }

  get remoteAddress(): RemoteInfo | undefined {
    return this.remote;
  }

  /** Where to send (from the SDP); replaced by the latched source of the first valid packet. */
  setRemote(address: string, port: number): void {
    if (!this.latched) this.remote = { address, port };
  }

  /**
   * Sends one payload. `samples` advances the timestamp (RFC 3550 §5.1: sampling instants).
   * The first packet carries the marker bit (start of talkspurt, RFC 3551 §4.1).
   */
  send(payloadType: number, payload: Uint8Array, samples: number, marker = false): void {
    if (this.closed || !this.remote) return;
    const pkt = encodeRtp({ marker: marker || this.firstSent, payloadType, sequence: this.seq, timestamp: this.ts, ssrc: this.ssrc, payload });
    this.firstSent = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + samples) >>> 0;
    this.counters.packetsSent++;
    this.counters.bytesSent += pkt.length;
    this.socket.send(pkt, this.remote.port, this.remote.address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    let pkt: RtpPacket;
    try {
      pkt = decodeRtp(msg);
    } catch {
      this.counters.badPackets++;
      return;
    }
    if (!this.accepted.includes(pkt.payloadType)) {
      this.counters.wrongPayloadType++;
      return;
    }
    if (!this.acceptSsrc(pkt.ssrc)) return;
    if (!this.latched) {
      this.latched = true;
      const prev = this.remote;
      this.remote = { address: rinfo.address, port: rinfo.port };
      if (!prev || prev.address !== rinfo.address || prev.port !== rinfo.port) {
        this.opts.log.info('symmetric RTP: latched to the source of the first packet', { from: `${rinfo.address}:${rinfo.port}`, sdp: prev ? `${prev.address}:${prev.port}` : 'none' });
      }
      this.emit('latched', this.remote);
    }
    this.countSequence(pkt.sequence);
    this.counters.packetsReceived++;
    this.counters.bytesReceived += msg.length;
    this.emit('packet', pkt);
  }

  private acceptSsrc(ssrc: number): boolean {
    if (this.remoteSsrc === undefined || this.remoteSsrc === ssrc) {
      this.remoteSsrc = ssrc;
      this.candidate = undefined;
      return true;
    }
    this.candidate = this.candidate?.ssrc === ssrc ? { ssrc, count: this.candidate.count + 1 } : { ssrc, count: 1 };
    if (this.candidate.count < SSRC_PROBATION) {
      this.counters.foreignSsrc++;
      return false;
    }
    this.counters.ssrcChanges++;
    this.remoteSsrc = ssrc;
    this.highestSeq = undefined;
    this.candidate = undefined;
    return true;
  }

  private countSequence(seq: number): void {
    if (this.highestSeq === undefined) {
      this.highestSeq = seq;
      return;
    }
    const d = seqDelta(seq, this.highestSeq);
    if (d > 0) {
      this.counters.lost += d - 1;
      this.highestSeq = seq;
    } else if (d === 0) {
      this.counters.duplicates++;
    } else {
      this.counters.outOfOrder++;
      // It was counted lost when the gap opened; it has arrived after all.
      if (this.counters.lost > 0) this.counters.lost--;
    }
  }
}

function bind(socket: DatagramSocket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.removeListener('error', onError);
      resolve();
    });
  });
}
