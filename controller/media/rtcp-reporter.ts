/**
 * The RTCP side of one RTP session (RFC 3550 §6): builds our compound reports and digests the
 * peer's. Pure apart from the injected clock (no sockets: RtpSession sends what this builds).
 *
 * - Our compound packet (§6.1): SR when we sent RTP since the previous report, else RR (§6.4),
 *   with one report block about the remote source once it sent anything; then SDES CNAME; then BYE
 *   when closing (§6.6).
 * - Incoming: an SR from the remote source records LSR for our next block; a report block about our
 *   SSRC gives the round-trip time (§6.4.1); a BYE from the remote is flagged.
 * - Reporting interval (§6.2, §6.3.1): the 5 s minimum for a two-party call, randomised to
 *   [0.5, 1.5] × the interval so that many legs do not report in step; the first report after
 *   half the minimum (§6.2 "initial").
 */
import type { Clock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import { decodeRtcpCompound, encodeBye, encodeReport, encodeSdesCname, type RtcpPacket, type SenderInfo } from './rtcp-packet';
import { ReceptionStats, ntpFromUnixMs, roundTripMs } from './rtcp-stats';

export const RTCP_MIN_INTERVAL_MS = 5000;

export interface RtcpCounters {
  rtcpSent: number;
  rtcpReceived: number;
  badRtcp: number;
  remoteByes: number;
}

export interface OurSending {
  packets: number;
  octets: number;
  /** RTP timestamp corresponding to "now" on our media clock. */
  rtpTimestamp: number;
}

export class RtcpReporter {
  readonly reception = new ReceptionStats(8000);
  readonly counters: RtcpCounters = { rtcpSent: 0, rtcpReceived: 0, badRtcp: 0, remoteByes: 0 };
  /** Latest round-trip time measured from a report about our stream, ms. */
  rttMs: number | undefined;
  /** The remote's latest report about our stream (what the far end sees of our audio). */
  remoteView: { fractionLost: number; cumulativeLost: number; jitterMs: number } | undefined;
  private sentSinceReport = false;

  constructor(
    private readonly ssrc: number,
    private readonly cname: string,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Next interval, ms (§6.3.1 randomisation of the 5 s minimum or the configured interval). */
  nextIntervalMs(baseMs: number, initial: boolean): number {
    const t = initial ? baseMs / 2 : baseMs;
    return Math.round(t * (0.5 + this.random()));
  }

  noteSent(): void {
    this.sentSinceReport = true;
  }

  onRtp(sequence: number, rtpTimestamp: number): void {
    this.reception.onPacket(sequence, rtpTimestamp, this.clock.monotonicMs());
  }

  /** Our compound packet: SR or RR, SDES CNAME, optional BYE. */
  build(sending: OurSending, remoteSsrc: number | undefined, bye?: string): Buffer {
    const nowMs = this.clock.monotonicMs();
    const blocks = remoteSsrc !== undefined && this.reception.hasData ? [this.reception.reportBlock(remoteSsrc, nowMs)] : [];
    let sender: SenderInfo | undefined;
    if (this.sentSinceReport || (bye !== undefined && sending.packets > 0)) {
      const ntp = ntpFromUnixMs(this.clock.now());
      sender = { ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: sending.rtpTimestamp, packetCount: sending.packets, octetCount: sending.octets };
    }
    this.sentSinceReport = false;
    const parts = [encodeReport(this.ssrc, sender, blocks), encodeSdesCname(this.ssrc, this.cname)];
    if (bye !== undefined) parts.push(encodeBye(this.ssrc, bye));
    this.counters.rtcpSent++;
    return Buffer.concat(parts);
  }

  /**
   * One decrypted compound datagram from the peer. Returns its packets, or throws the decoder's
   * TonewallError (counted in badRtcp) for a malformed one.
   */
  receive(datagram: Buffer, remoteSsrc: number | undefined): RtcpPacket[] {
    let packets: RtcpPacket[];
    try {
      packets = decodeRtcpCompound(datagram);
    } catch (err) {
      this.counters.badRtcp++;
      throw err instanceof TonewallError ? err : new TonewallError('ERTCP', String(err));
    }
    this.counters.rtcpReceived++;
    for (const p of packets) {
      if (p.type === 'sr' || p.type === 'rr') {
        if (p.type === 'sr' && (remoteSsrc === undefined || p.ssrc === remoteSsrc)) {
          this.reception.onSenderReport({ seconds: p.sender.ntpSeconds, fraction: p.sender.ntpFraction }, this.clock.monotonicMs());
        }
        for (const block of p.reports) {
          if (block.ssrc !== this.ssrc) continue;
          const rtt = roundTripMs(block, this.clock.now());
          if (rtt !== undefined) this.rttMs = rtt;
          this.remoteView = { fractionLost: block.fractionLost / 256, cumulativeLost: block.cumulativeLost, jitterMs: block.jitter / 8 };
        }
      } else if (p.type === 'bye' && (remoteSsrc === undefined || p.ssrcs.includes(remoteSsrc))) {
        this.counters.remoteByes++;
      }
    }
    return packets;
  }
}
