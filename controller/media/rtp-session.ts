/**
 * One RTP session (RFC 3550) for one call leg: a UDP socket on an even port in
 * [rtpPortMin, rtpPortMax] and its RTCP socket on the next port (RFC 3550 §11; a port pair with
 * either half busy is skipped), random SSRC, sequence number and timestamp (§5.1), the marker bit
 * on the first packet of the talkspurt (RFC 3551 §4.1), and receiving with validation:
 *
 * - undecodable packets (bad version, bad lengths) → `badPackets`; SRTP authentication or replay
 *   failures → `srtpRejected`, SRTCP ones → `srtcpRejected` (never decoded further; apart so a
 *   peer's plaintext RTCP keepalive is not mistaken for a media attack);
 * - payload type not negotiated → `wrongPayloadType`;
 * - a packet from another SSRC than the one we locked on → `foreignSsrc` (dropped); after
 *   `SSRC_PROBATION` consecutive packets from the same new SSRC we switch (`ssrcChanges`), as the
 *   peer may have restarted its stream (cf. RFC 3550 Appendix A.1 probation);
 * - loss / out-of-order / duplicate counted on the extended sequence number.
 *
 * Symmetric RTP / latching (RFC 4961, common SBC practice): until latched we send where the SDP
 * said; after `latchAfterPackets` consecutive valid packets (accepted payload type, the locked
 * SSRC, authenticated when SRTP is on) from one source address we send there instead, so media
 * reaches peers behind NAT. The latch happens once per session and is logged and emitted. RTCP
 * latches the same way to the source of the first valid RTCP datagram.
 *
 * RTCP (RFC 3550 §6, `RtcpReporter`): SR/RR + SDES CNAME every ~5 s (randomised), BYE on close;
 * on RTP port + 1, or on the RTP port itself with rtcp-mux (RFC 5761 §4 demultiplexing by the
 * second byte). SRTP/SRTCP (RFC 3711) through an optional `MediaProtector`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../../hw/base/clock';
import { TonewallError, errorCode, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import { createUdpSocket, type DatagramSocket, type RemoteInfo } from '../sip/core/transport';
import { ESRTP_NO_KEYS, type MediaProtector } from './media-protector';
import { looksLikeRtcp } from './rtcp-packet';
import { RTCP_MIN_INTERVAL_MS, RtcpReporter, type RtcpCounters } from './rtcp-reporter';
import { decodeRtp, encodeRtp, seqDelta, type RtpPacket } from './rtp-packet';

export const SSRC_PROBATION = 3;
export const DEFAULT_LATCH_PACKETS = 3;

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
  clock?: Clock;
  /** RTCP report interval before randomisation, ms (default 5000, RFC 3550 §6.2 minimum). */
  rtcpIntervalMs?: number;
  /** Consecutive valid packets from one source before we latch to it (default 3). */
  latchAfterPackets?: number;
}

export interface RtpCounters extends RtcpCounters {
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
  srtpRejected: number;
  srtcpRejected: number;
  /** RTP/RTCP that arrived before the answer to our SRTP offer (no keys to check it with). */
  srtpBeforeAnswer: number;
}

export interface RtpSessionEvents {
  packet: [packet: RtpPacket];
  latched: [remote: RemoteInfo];
  /** The remote sent an RTCP BYE for its stream (RFC 3550 §6.6). */
  bye: [reason: string | undefined];
  error: [err: Error];
}

export class RtpSession extends TypedEmitter<RtpSessionEvents> {
  readonly counters: RtpCounters;
  readonly ssrc: number;
  private readonly rtcp: RtcpReporter;
  private readonly clock: Clock;
  private seq: number;
  private ts: number;
  private lastSendMs: number | undefined;
  private firstSent = true;
  private remote: RemoteInfo | undefined;
  private rtcpRemote: RemoteInfo | undefined;
  private rtcpLatched = false;
  private latched = false;
  private latchCandidate: { address: string; port: number; count: number } | undefined;
  private remoteSsrc: number | undefined;
  private highestSeq: number | undefined;
  private candidate: { ssrc: number; count: number } | undefined;
  private closed = false;
  private accepted: number[];
  private mux = false;
  private protector: MediaProtector | undefined;
  private timer: TimerHandle | undefined;
  private sendEnabled = true;

  private constructor(
    private readonly socket: DatagramSocket,
    private readonly rtcpSocket: DatagramSocket,
    readonly localPort: number,
    private readonly opts: RtpSessionOptions,
    random: (max: number) => number,
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.accepted = [...opts.acceptPayloadTypes];
    this.ssrc = random(0x100000000) >>> 0;
    this.seq = random(0x10000);
    this.ts = random(0x100000000) >>> 0;
    this.rtcp = new RtcpReporter(this.ssrc, `tonewall-${randomBytes(6).toString('hex')}`, this.clock, () => random(1_000_000) / 1_000_000);
    this.counters = Object.assign(this.rtcp.counters, {
      packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, lost: 0, outOfOrder: 0,
      duplicates: 0, badPackets: 0, wrongPayloadType: 0, foreignSsrc: 0, ssrcChanges: 0, srtpRejected: 0, srtcpRejected: 0, srtpBeforeAnswer: 0,
    });
    socket.on('message', (msg, rinfo) => (this.mux && looksLikeRtcp(msg) ? this.receiveRtcp(msg, rinfo) : this.receive(msg, rinfo)));
    socket.on('error', (err) => this.emit('error', err));
    rtcpSocket.on('message', (msg, rinfo) => this.receiveRtcp(msg, rinfo));
    rtcpSocket.on('error', (err) => this.emit('error', err));
  }

  /** Binds an even port and the next one in [portMin, portMax + 1], starting at a random pair and skipping busy ones. */
  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    const random = opts.random ?? ((max: number) => randomInt(0, max));
    const first = opts.portMin + (opts.portMin % 2);
    const count = Math.floor((opts.portMax - first) / 2) + 1;
    if (count <= 0) throw new TonewallError('ERTPPORT', `RTP port range ${opts.portMin}-${opts.portMax} holds no even port`);
    const start = random(count);
    const factory = opts.socketFactory ?? createUdpSocket;
    for (let i = 0; i < count; i++) {
      const port = first + 2 * ((start + i) % count);
      const socket = factory();
      const rtcpSocket = factory();
      try {
        await bind(socket, port, opts.bindAddress);
        await bind(rtcpSocket, port + 1, opts.bindAddress);
        return new RtpSession(socket, rtcpSocket, port, opts, random);
      } catch (err) {
        socket.close();
        rtcpSocket.close();
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

  get rtcpRemoteAddress(): RemoteInfo | undefined {
    return this.rtcpRemote;
  }

  get isLatched(): boolean {
    return this.latched;
  }

  /** Round-trip time from the peer's last report about our stream (RFC 3550 §6.4.1), ms. */
  get rttMs(): number | undefined {
    return this.rtcp.rttMs;
  }

  /** Interarrival jitter of the remote stream (RFC 3550 A.8), ms. */
  get jitterMs(): number {
    return this.rtcp.reception.jitterMs;
  }

  /** What the peer last reported about our stream. */
  get remoteView(): RtcpReporter['remoteView'] {
    return this.rtcp.remoteView;
  }

  /**
   * Where to send (from the SDP): RTP to `port`, RTCP to `rtcpPort` (default port + 1, RFC 3605
   * `a=rtcp` may say otherwise) or to the RTP port with rtcp-mux. A latched address wins.
   * Starts the RTCP report timer.
   */
  setRemote(address: string, port: number, rtcp: { port?: number; mux?: boolean } = {}): void {
    this.mux = rtcp.mux ?? false;
    if (!this.latched) this.remote = { address, port };
    if (!this.rtcpLatched) this.rtcpRemote = { address, port: this.mux ? port : (rtcp.port ?? port + 1) };
    if (!this.timer && !this.closed) this.scheduleRtcp(true);
  }

  /** SRTP (RFC 3711) from now on, or plain RTP with undefined. */
  setProtector(protector: MediaProtector | undefined): void {
    this.protector = protector;
  }

  /** Hold (RFC 3264 §8.4: sendonly/inactive): media sending off; RTCP continues. */
  setSending(enabled: boolean): void {
    this.sendEnabled = enabled;
  }

  /**
   * Sends one payload. `samples` advances the timestamp (RFC 3550 §5.1: sampling instants).
   * The first packet carries the marker bit (start of talkspurt, RFC 3551 §4.1).
   */
  send(payloadType: number, payload: Uint8Array, samples: number, marker = false, timestampOffset = 0): void {
    if (this.closed || !this.remote) return;
    if (!this.sendEnabled) {
      this.ts = (this.ts + samples) >>> 0;
      return;
    }
    let pkt = encodeRtp({ marker: marker || this.firstSent, payloadType, sequence: this.seq, timestamp: (this.ts - timestampOffset) >>> 0, ssrc: this.ssrc, payload });
    this.firstSent = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + samples) >>> 0;
    this.lastSendMs = this.clock.monotonicMs();
    if (this.protector) pkt = this.protector.protectRtp(pkt);
    this.counters.packetsSent++;
    this.counters.bytesSent += pkt.length;
    this.rtcp.noteSent();
    this.socket.send(pkt, this.remote.port, this.remote.address);
  }

  /** The RTP timestamp the next media packet will carry (for events sharing the media clock). */
  get nextTimestamp(): number {
    return this.ts;
  }

  /** Sends RTCP BYE (RFC 3550 §6.6) and closes both sockets. */
  async close(reason = 'call ended'): Promise<void> {
    if (this.closed) return;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.rtcpRemote) await new Promise<void>((resolve) => this.sendRtcp(reason, resolve));
    this.closed = true;
    await Promise.all([
      new Promise<void>((resolve) => this.socket.close(() => resolve())),
      new Promise<void>((resolve) => this.rtcpSocket.close(() => resolve())),
    ]);
  }

  private scheduleRtcp(initial: boolean): void {
    const ms = this.rtcp.nextIntervalMs(this.opts.rtcpIntervalMs ?? RTCP_MIN_INTERVAL_MS, initial);
    this.timer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.sendRtcp(undefined);
      this.scheduleRtcp(false);
    }, ms);
  }

  private sendRtcp(bye: string | undefined, sent: () => void = () => undefined): void {
    const to = this.rtcpRemote;
    if (!to) return sent();
    const elapsed = this.lastSendMs === undefined ? 0 : Math.max(0, this.clock.monotonicMs() - this.lastSendMs);
    let datagram = this.rtcp.build({ packets: this.counters.packetsSent, octets: this.counters.bytesSent, rtpTimestamp: (this.ts + Math.round(elapsed * 8)) >>> 0 }, this.remoteSsrc, bye);
    try {
      if (this.protector) datagram = this.protector.protectRtcp(datagram);
      (this.mux ? this.socket : this.rtcpSocket).send(datagram, to.port, to.address, () => sent());
    } catch (err) {
      this.opts.log.warn('RTCP send failed', { error: errorMessage(err) });
      sent();
    }
  }

  private receiveRtcp(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    let plain = msg;
    if (this.protector) {
      try {
        plain = this.protector.unprotectRtcp(msg);
      } catch (err) {
        if (err instanceof TonewallError && err.code === ESRTP_NO_KEYS) this.counters.srtpBeforeAnswer++;
        else this.counters.srtcpRejected++;
        return;
      }
    }
    try {
      const packets = this.rtcp.receive(plain, this.remoteSsrc);
      if (!this.rtcpLatched) {
        this.rtcpLatched = true;
        this.rtcpRemote = { address: rinfo.address, port: rinfo.port };
      }
      for (const p of packets) {
        if (p.type === 'bye' && (this.remoteSsrc === undefined || p.ssrcs.includes(this.remoteSsrc))) this.emit('bye', p.reason);
      }
    } catch {
      // counted in badRtcp by the reporter
    }
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    let plain = msg;
    if (this.protector) {
      try {
        plain = this.protector.unprotectRtp(msg);
      } catch (err) {
        if (err instanceof TonewallError && err.code === ESRTP_NO_KEYS) this.counters.srtpBeforeAnswer++;
        else this.counters.srtpRejected++;
        return;
      }
    }
    let pkt: RtpPacket;
    try {
      pkt = decodeRtp(plain);
    } catch {
      this.counters.badPackets++;
      return;
    }
    if (!this.accepted.includes(pkt.payloadType)) {
      this.counters.wrongPayloadType++;
      return;
    }
    if (!this.acceptSsrc(pkt.ssrc)) return;
    this.latch(rinfo);
    this.countSequence(pkt.sequence);
    this.rtcp.onRtp(pkt.sequence, pkt.timestamp);
    this.counters.packetsReceived++;
    this.counters.bytesReceived += msg.length;
    this.emit('packet', pkt);
  }

  private latch(rinfo: RemoteInfo): void {
    if (this.latched) return;
    const c = this.latchCandidate;
    this.latchCandidate = c && c.address === rinfo.address && c.port === rinfo.port ? { ...c, count: c.count + 1 } : { address: rinfo.address, port: rinfo.port, count: 1 };
    if (this.latchCandidate.count < (this.opts.latchAfterPackets ?? DEFAULT_LATCH_PACKETS)) return;
    this.latched = true;
    const prev = this.remote;
    this.remote = { address: rinfo.address, port: rinfo.port };
    if (!prev || prev.address !== rinfo.address || prev.port !== rinfo.port) {
      this.opts.log.info('symmetric RTP: latched to the source of the media', { from: `${rinfo.address}:${rinfo.port}`, sdp: prev ? `${prev.address}:${prev.port}` : 'none' });
    }
    this.emit('latched', this.remote);
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
    this.rtcp.reception.reset();
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
