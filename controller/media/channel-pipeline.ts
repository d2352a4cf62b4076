/**
 * The per-channel media pipeline the call manager drives (DESIGN.md §5):
 *
 *   uplink   fromCard(card-law PCM ≤ 10 ms) → decode → UplinkProcessor → encode (negotiated law)
 *            → packetize every ptime → RtpSession.send
 *   downlink RtpSession 'packet' → decode → adaptive JitterBuffer (PLC, drift) → [RFC 4733 events
 *            as in-band DTMF | local ringback] → toCard(): 80 bytes card law per 10 ms card tick
 *
 * Contract:
 * - fromCard accepts any chunk up to 80 bytes (10 ms at 8 kHz); samples are accumulated and sent
 *   in packets of exactly ptimeMs * 8 samples, so the RTP timestamp advances by that per packet.
 * - toCard always returns 80 bytes in the card's law (silence while the jitter buffer is empty).
 * - Packets with the telephone-event payload type are decoded (RFC 4733), handed to
 *   `onTelephoneEvent`, and regenerated as in-band DTMF toward the card by a
 *   `TelephoneEventPlayer` (unless `playTelephoneEvents: false`); while a tone plays it replaces the
 *   downlink audio. Undecodable ones are counted in `badTelephoneEvents`.
 * - Uplink RFC 4733 events (`uplinkDigit`) leave only when `uplinkEvents` is on, the far end
 *   negotiated telephone-event, and the digit was not pressed in secure mode (DESIGN.md §5: no
 *   event for a masked digit in any form); a refused one is counted, nothing about it is logged.
 * - `setLocalTone('ringback')` plays the country's ringback toward the card instead of the
 *   downlink (a 180 without early media); null stops it.
 * - The uplink processor must not throw (its contract); if it does anyway the block is replaced
 *   by silence and counted (fail closed), never passed through.
 */
import { systemClock, type Clock } from '../../hw/base/clock';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { CallProgressGenerator, tonePlan } from '../dsp/call-progress-tones';
import { decode, encode, PAYLOAD_TYPE, type CompandingLaw } from './g711';
import { JitterBuffer, type JitterBufferCounters } from './jitter-buffer';
import type { RtpPacket } from './rtp-packet';
import { decodeTelephoneEvents, type TelephoneEvent } from './rtp-event';
import type { RtpCounters } from './rtp-session';
import { TelephoneEventPlayer, type TelephoneEventCounters } from './telephone-event-player';
import { uplinkEventPackets, type UplinkDigit } from './telephone-event-sender';
import type { UplinkProcessor } from './uplink-processor';

/** Samples per 10 ms card chunk at 8 kHz. */
export const CARD_CHUNK_SAMPLES = 80;

/** What the pipeline needs of an RTP session (RtpSession implements it; tests use a fake). */
export interface RtpMediaPort {
  /** `timestampOffset`: the packet's timestamp lies this many samples before the media clock (RFC 4733 event start). */
  send(payloadType: number, payload: Uint8Array, samples: number, marker?: boolean, timestampOffset?: number): void;
  on(event: 'packet', listener: (packet: RtpPacket) => void): unknown;
  off(event: 'packet', listener: (packet: RtpPacket) => void): unknown;
  readonly counters: RtpCounters;
}

export interface ChannelPipelineOptions {
  cardLaw: CompandingLaw;
  rtpCodecLaw: CompandingLaw;
  ptimeMs: number;
  rtp: RtpMediaPort;
  uplink: UplinkProcessor;
  log: Logger;
  /** RTP payload type for the codec (default: the static PT of rtpCodecLaw). */
  payloadType?: number;
  telephoneEventPt?: number;
  /** Adaptive jitter buffer bounds (JitterBufferOptions): starting target, minimum, maximum, ms. */
  jitterTargetMs?: number;
  jitterMinMs?: number;
  jitterMaxMs?: number;
  /** Time-scaling in the jitter buffer (default true; off for bit-exact playout). */
  jitterTimeScaling?: boolean;
  /** Regenerate agent-side RFC 4733 events as in-band DTMF toward the card (default true). */
  playTelephoneEvents?: boolean;
  /** Send RFC 4733 events for uplink digits outside secure mode (the strip-always policy; default false). */
  uplinkEvents?: boolean;
  /** Country of the local ringback tone (controller/dsp/call-progress-tones; default 'us'). */
  toneCountry?: string;
  /** Arrival times for the jitter estimate (default: the system clock). */
  clock?: Clock;
  /** Agent-side RFC 4733 events (downlink), with the packet's RTP timestamp (the event's start). */
  onTelephoneEvent?: (event: TelephoneEvent, rtpTimestamp: number) => void;
}

export interface ChannelPipelineCounters {
  framesFromCard: number;
  framesToCard: number;
  uplinkFailures: number;
  telephoneEvents: number;
  badTelephoneEvents: number;
  uplinkEventsSent: number;
  uplinkEventsRefused: number;
  rtp: RtpCounters;
  jitter: JitterBufferCounters & { targetDepthMs: number; depthMs: number };
  events: TelephoneEventCounters;
}

export class ChannelPipeline {
  private readonly samplesPerPacket: number;
  private readonly pending: Uint8Array;
  private pendingCount = 0;
  private readonly linearIn = new Int16Array(CARD_CHUNK_SAMPLES);
  private readonly linearOut = new Int16Array(CARD_CHUNK_SAMPLES);
  private readonly jitter: JitterBuffer;
  private readonly payloadType: number;
  private readonly counts = { framesFromCard: 0, framesToCard: 0, uplinkFailures: 0, telephoneEvents: 0, badTelephoneEvents: 0, uplinkEventsSent: 0, uplinkEventsRefused: 0 };
  private readonly onPacket = (p: RtpPacket): void => this.receive(p);
  private readonly player = new TelephoneEventPlayer();
  private readonly clock: Clock;
  private readonly downBlock = new Int16Array(CARD_CHUNK_SAMPLES);
  private ringback: CallProgressGenerator | undefined;

  constructor(private readonly opts: ChannelPipelineOptions) {
    if (![10, 20, 30, 40].includes(opts.ptimeMs)) throw new TonewallError('EMEDIA', `ptime ${opts.ptimeMs} ms is not 10, 20, 30 or 40`);
    this.samplesPerPacket = opts.ptimeMs * 8;
    this.pending = new Uint8Array(this.samplesPerPacket);
    this.payloadType = opts.payloadType ?? PAYLOAD_TYPE[opts.rtpCodecLaw];
    this.clock = opts.clock ?? systemClock;
    this.jitter = new JitterBuffer({ initialDepthMs: opts.jitterTargetMs ?? 40, minDepthMs: opts.jitterMinMs ?? Math.min(20, opts.jitterTargetMs ?? 20), maxDepthMs: opts.jitterMaxMs ?? 200, timeScaling: opts.jitterTimeScaling ?? true });
    opts.rtp.on('packet', this.onPacket);
  }

  /** One chunk of card audio (card law, at most 80 bytes = 10 ms). */
  fromCard(pcm: Buffer): void {
    if (pcm.length > CARD_CHUNK_SAMPLES) throw new TonewallError('EMEDIA', `card chunk of ${pcm.length} bytes exceeds ${CARD_CHUNK_SAMPLES} (10 ms)`);
    this.counts.framesFromCard++;
    const n = pcm.length;
    const input = this.linearIn.subarray(0, n);
    const output = this.linearOut.subarray(0, n);
    decode(this.opts.cardLaw, pcm, input);
    try {
      this.opts.uplink.process(input, output);
    } catch (err) {
      this.counts.uplinkFailures++;
      output.fill(0);
      this.opts.log.error('uplink processor threw: block muted', { error: errorMessage(err) });
    }
    const encoded = encode(this.opts.rtpCodecLaw, output);
    let offset = 0;
    while (offset < n) {
      const take = Math.min(n - offset, this.samplesPerPacket - this.pendingCount);
      this.pending.set(encoded.subarray(offset, offset + take), this.pendingCount);
      this.pendingCount += take;
      offset += take;
      if (this.pendingCount === this.samplesPerPacket) {
        this.opts.rtp.send(this.payloadType, this.pending, this.samplesPerPacket);
        this.pendingCount = 0;
      }
    }
  }

  /** 80 bytes of card-law audio for the next 10 ms toward the PSTN. */
  toCard(): Buffer {
    this.counts.framesToCard++;
    let block = this.jitter.pull(CARD_CHUNK_SAMPLES);
    if (this.player.render(this.downBlock)) block = this.downBlock;
    else if (this.ringback) {
      this.ringback.fill(this.downBlock);
      block = this.downBlock;
    }
    return Buffer.from(encode(this.opts.cardLaw, block));
  }

  /** Local ringback toward the card (RFC 3960 local generation after a 180), or null to stop. */
  setLocalTone(kind: 'ringback' | null): void {
    this.ringback = kind === 'ringback' ? new CallProgressGenerator(tonePlan(this.opts.toneCountry ?? 'us', 'ringback')) : undefined;
  }

  /**
   * A digit the uplink DSP finished detecting. Sent as RFC 4733 (start packet + three end packets,
   * RFC 4733 §2.5.1) only per the policy above; returns whether it was sent.
   */
  uplinkDigit(digit: UplinkDigit): boolean {
    const pt = this.opts.telephoneEventPt;
    if (digit.secure || !this.opts.uplinkEvents || pt === undefined) {
      this.counts.uplinkEventsRefused++;
      return false;
    }
    for (const p of uplinkEventPackets(digit)) this.opts.rtp.send(pt, p.payload, 0, p.marker, p.timestampOffset);
    this.counts.uplinkEventsSent++;
    return true;
  }

  get counters(): ChannelPipelineCounters {
    return {
      ...this.counts,
      rtp: { ...this.opts.rtp.counters },
      jitter: { ...this.jitter.counters, targetDepthMs: this.jitter.targetDepthMs, depthMs: this.jitter.depthSamples / 8 },
      events: { ...this.player.counters },
    };
  }

  /** Detaches from the RTP session (the caller closes the session). */
  close(): void {
    this.opts.rtp.off('packet', this.onPacket);
  }

  private receive(p: RtpPacket): void {
    if (p.payloadType === this.opts.telephoneEventPt) {
      this.counts.telephoneEvents++;
      let events: TelephoneEvent[];
      try {
        events = decodeTelephoneEvents(p.payload);
      } catch {
        this.counts.badTelephoneEvents++;
        return;
      }
      for (const ev of events) {
        if (this.opts.playTelephoneEvents !== false) this.player.onEvent(ev, p.timestamp);
        this.opts.onTelephoneEvent?.(ev, p.timestamp);
      }
      return;
    }
    if (p.payloadType !== this.payloadType) return;
    this.jitter.push(p.timestamp, decode(this.opts.rtpCodecLaw, p.payload), this.clock.monotonicMs());
  }
}
