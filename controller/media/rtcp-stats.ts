/**
 * Reception statistics for one remote source and the round-trip time, RFC 3550:
 *
 * - A.1 extended highest sequence number (16-bit sequence + cycles),
 * - A.3 expected / lost / fraction lost per reporting interval (cumulative lost may go negative
 *   with duplicates, clamped to 24 bits when encoded),
 * - A.8 interarrival jitter J += (|D| - J) / 16 with D the difference in transit times, in RTP
 *   timestamp units (arrival times converted at the codec clock rate),
 * - §6.4.1 LSR/DLSR: the middle 32 bits of the NTP time of the remote's last SR and the delay since,
 *   and RTT = A - LSR - DLSR from a report block about us (A: NTP of its arrival), in 1/65536 s.
 *
 * Pure: times come in as arguments (ms), nothing is read from a clock here.
 */
import { seqDelta } from './rtp-packet';
import type { ReportBlock } from './rtcp-packet';

/** Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch). */
const NTP_UNIX_OFFSET_S = 2208988800;

export interface NtpTime {
  seconds: number;
  fraction: number;
}

/** Wall-clock ms since the Unix epoch → 64-bit NTP timestamp (§4). */
export function ntpFromUnixMs(ms: number): NtpTime {
  const secs = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - secs * 1000) / 1000) * 0x100000000);
  return { seconds: (secs + NTP_UNIX_OFFSET_S) >>> 0, fraction: fraction >>> 0 };
}

/** The middle 32 bits of an NTP timestamp (LSR/DLSR units: 1/65536 s). */
export function ntpMiddle32(t: NtpTime): number {
  return (((t.seconds & 0xffff) << 16) | (t.fraction >>> 16)) >>> 0;
}

/**
 * Round-trip time in ms from a report block about our stream (§6.4.1), or undefined when the block
 * carries no LSR or the result is negative (clock steps, a forged block).
 */
export function roundTripMs(block: Pick<ReportBlock, 'lastSr' | 'delaySinceLastSr'>, arrivalUnixMs: number): number | undefined {
  if (block.lastSr === 0) return undefined;
  const a = ntpMiddle32(ntpFromUnixMs(arrivalUnixMs));
  const rtt = (a - block.lastSr - block.delaySinceLastSr) | 0;
  if (rtt < 0) return undefined;
  return (rtt / 65536) * 1000;
}

export class ReceptionStats {
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private started = false;
  /** Packets received (duplicates included, as A.3 counts them). */
  received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transitPrev: number | undefined;
  /** A.8 jitter estimate, RTP timestamp units (fractional). */
  jitter = 0;
  private lastSrMiddle = 0;
  private lastSrArrivalMs = 0;

  constructor(private readonly clockRateHz = 8000) {}

  /** One valid RTP packet from the source: its sequence, RTP timestamp and arrival time (ms, monotonic). */
  onPacket(sequence: number, rtpTimestamp: number, arrivalMs: number): void {
    if (!this.started) {
      this.started = true;
      this.baseSeq = sequence;
      this.maxSeq = sequence;
    } else {
      const d = seqDelta(sequence, this.maxSeq);
      if (d > 0) {
        if (sequence < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = sequence;
      }
    }
    this.received++;
    const arrival = (arrivalMs * this.clockRateHz) / 1000;
    const transit = arrival - rtpTimestamp;
    if (this.transitPrev !== undefined) {
      let d = transit - this.transitPrev;
      // RTP timestamps wrap at 2^32: fold the difference back into ±2^31.
      if (d > 0x80000000) d -= 0x100000000;
      else if (d < -0x80000000) d += 0x100000000;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.transitPrev = transit;
  }

  /** The source restarted its stream (new SSRC): start over. */
  reset(): void {
    this.started = false;
    this.received = 0;
    this.cycles = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.transitPrev = undefined;
    this.jitter = 0;
  }

  /** An SR from the source arrived (for LSR/DLSR in our next report). */
  onSenderReport(ntp: NtpTime, arrivalMs: number): void {
    this.lastSrMiddle = ntpMiddle32(ntp);
    this.lastSrArrivalMs = arrivalMs;
  }

  get hasData(): boolean {
    return this.started;
  }

  get extendedHighestSeq(): number {
    return (this.cycles + this.maxSeq) >>> 0;
  }

  get expected(): number {
    return this.started ? this.cycles + this.maxSeq - this.baseSeq + 1 : 0;
  }

  /** Cumulative lost (A.3: expected - received; negative with duplicates). */
  get cumulativeLost(): number {
    return this.expected - this.received;
  }

  get jitterMs(): number {
    return (this.jitter * 1000) / this.clockRateHz;
  }

  /** The report block for this source; advances the interval counters (A.3). `nowMs` monotonic. */
  reportBlock(ssrc: number, nowMs: number): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
    const dlsr = this.lastSrMiddle === 0 ? 0 : Math.max(0, Math.round(((nowMs - this.lastSrArrivalMs) / 1000) * 65536));
    return {
      ssrc,
      fractionLost,
      cumulativeLost: this.cumulativeLost,
      extendedHighestSeq: this.extendedHighestSeq,
      jitter: Math.floor(this.jitter),
      lastSr: this.lastSrMiddle,
      delaySinceLastSr: dlsr >>> 0,
    };
  }
}
