/**
 * The per-channel media pipeline the call manager drives (DESIGN.md §5):
 *
 *   uplink   fromCard(card-law PCM ≤ 10 ms) → decode → UplinkProcessor → encode (negotiated law)
 *            → packetize every ptime → RtpSession.send
 *   downlink RtpSession 'packet' → JitterBuffer → toCard(): 80 bytes card law per 10 ms card tick
 *
 * Contract:
 * - fromCard accepts any chunk up to 80 bytes (10 ms at 8 kHz); samples are accumulated and sent
 *   in packets of exactly ptimeMs * 8 samples, so the RTP timestamp advances by that per packet.
 * - toCard always returns 80 bytes in the card's law (silence while the jitter buffer is empty).
 * - Packets with the telephone-event payload type are decoded (RFC 4733) and handed to
 *   `onTelephoneEvent` (the call manager regenerates them in-band toward the PSTN later); they are
 *   never played as audio. Undecodable ones are counted in `badTelephoneEvents`.
 * - The uplink processor must not throw (its contract); if it does anyway the block is replaced
 *   by silence and counted (fail closed), never passed through.
 */
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { decode, encode, PAYLOAD_TYPE, SILENCE_BYTE, type CompandingLaw } from './g711';
import { JitterBuffer, type JitterBufferCounters } from './jitter-buffer';
import type { RtpPacket } from './rtp-packet';
import { decodeTelephoneEvents, type TelephoneEvent } from './rtp-event';
import type { RtpCounters } from './rtp-session';
import type { UplinkProcessor } from './uplink-processor';

/** Samples per 10 ms card chunk at 8 kHz. */
export const CARD_CHUNK_SAMPLES = 80;

/** What the pipeline needs of an RTP session (RtpSession implements it; tests use a fake). */
export interface RtpMediaPort {
  send(payloadType: number, payload: Uint8Array, samples: number, marker?: boolean): void;
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
  jitterTargetMs?: number;
  jitterMaxMs?: number;
  /** Agent-side RFC 4733 events (downlink), with the packet's RTP timestamp (the event's start). */
  onTelephoneEvent?: (event: TelephoneEvent, rtpTimestamp: number) => void;
}

export interface ChannelPipelineCounters {
  framesFromCard: number;
  framesToCard: number;
  uplinkFailures: number;
  telephoneEvents: number;
  badTelephoneEvents: number;
  rtp: RtpCounters;
  jitter: JitterBufferCounters;
}

export class ChannelPipeline {
  private readonly samplesPerPacket: number;
  private readonly pending: Uint8Array;
  private pendingCount = 0;
  private readonly linearIn = new Int16Array(CARD_CHUNK_SAMPLES);
  private readonly linearOut = new Int16Array(CARD_CHUNK_SAMPLES);
  private readonly jitter: JitterBuffer;
  private readonly payloadType: number;
  private readonly counts = { framesFromCard: 0, framesToCard: 0, uplinkFailures: 0, telephoneEvents: 0, badTelephoneEvents: 0 };
  private readonly onPacket = (p: RtpPacket): void => this.receive(p);

  constructor(private readonly opts: ChannelPipelineOptions) {
    if (![10, 20, 30, 40].includes(opts.ptimeMs)) throw new TonewallError('EMEDIA', `ptime ${opts.ptimeMs} ms is not 10, 20, 30 or 40`);
    this.samplesPerPacket = opts.ptimeMs * 8;
    this.pending = new Uint8Array(this.samplesPerPacket);
    this.payloadType = opts.payloadType ?? PAYLOAD_TYPE[opts.rtpCodecLaw];
    this.jitter = new JitterBuffer({ silenceByte: SILENCE_BYTE[opts.rtpCodecLaw], targetDepthMs: opts.jitterTargetMs ?? 40, maxDepthMs: opts.jitterMaxMs ?? 200 });
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
    const rtpAudio = this.jitter.pull(CARD_CHUNK_SAMPLES);
    if (this.opts.cardLaw === this.opts.rtpCodecLaw) return rtpAudio;
    const linear = decode(this.opts.rtpCodecLaw, rtpAudio);
    return Buffer.from(encode(this.opts.cardLaw, linear));
  }

  get counters(): ChannelPipelineCounters {
    return { ...this.counts, rtp: { ...this.opts.rtp.counters }, jitter: { ...this.jitter.counters } };
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
      for (const ev of events) this.opts.onTelephoneEvent?.(ev, p.timestamp);
      return;
    }
    if (p.payloadType !== this.payloadType) return;
    this.jitter.push(p.timestamp, p.payload);
  }
}
