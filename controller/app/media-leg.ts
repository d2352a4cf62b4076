/**
 * The MediaFactory the call manager uses (controller/call/ports.ts), built from the media layer:
 * an RtpSession for the call, an SDP offer, and once the answer is in, the per-channel pipeline
 * (DESIGN.md §5) with the call's uplink processor.
 */
import type { Logger } from '../../hw/base/logger';
import type { CompandingLaw } from '../../hw/card/types';
import type { MediaFactory, MediaLeg, MediaLegStats } from '../call/ports';
import type { SipConfig } from '../config/schema';
import { CARD_CHUNK_SAMPLES, ChannelPipeline, type RtpMediaPort } from '../media/channel-pipeline';
import { SILENCE_BYTE } from '../media/g711';
import { RtpSession } from '../media/rtp-session';
import { DEFAULT_TELEPHONE_EVENT_PT, STATIC_PT, buildOffer, parseAnswer } from '../media/sdp';
import type { UplinkProcessor } from '../media/uplink-processor';

export interface RtpMediaFactoryOptions {
  sip: SipConfig;
  log: Logger;
  /** A new uplink processor per call (the DSP in normal mode). */
  uplink: (callId: string) => UplinkProcessor;
  /** Sees every encoded uplink payload as it leaves (the masking record's second check). */
  onUplinkPayload?: (callId: string, payload: Uint8Array, law: CompandingLaw) => void;
}

class RtpMediaLeg implements MediaLeg {
  private pipeline: ChannelPipeline | undefined;
  private readonly silence: Buffer;

  constructor(
    private readonly rtp: RtpSession,
    readonly sdpOffer: string,
    private readonly cardLaw: CompandingLaw,
    private readonly opts: RtpMediaFactoryOptions,
    private readonly log: Logger,
    private readonly callId: string,
  ) {
    this.silence = Buffer.alloc(CARD_CHUNK_SAMPLES, SILENCE_BYTE[cardLaw]);
  }

  applyAnswer(sdpAnswer: string): { codec: string } {
    const media = parseAnswer(sdpAnswer, { codecs: this.opts.sip.codecs, ptimeMs: this.opts.sip.ptimeMs });
    this.rtp.setRemote(media.address, media.port);
    const law: CompandingLaw = media.codec === 'PCMU' ? 'ulaw' : 'alaw';
    const tap = this.opts.onUplinkPayload;
    const rtp = this.rtp;
    const callId = this.callId;
    const port: RtpMediaPort = tap
      ? {
          send(payloadType, payload, samples, marker) {
            if (payloadType === media.payloadType) tap(callId, payload, law);
            rtp.send(payloadType, payload, samples, marker);
          },
          on: (event, listener) => rtp.on(event, listener),
          off: (event, listener) => rtp.off(event, listener),
          get counters() {
            return rtp.counters;
          },
        }
      : rtp;
    this.pipeline = new ChannelPipeline({
      cardLaw: this.cardLaw,
      rtpCodecLaw: law,
      ptimeMs: media.ptimeMs,
      rtp: port,
      uplink: this.opts.uplink(this.callId),
      log: this.log,
      payloadType: media.payloadType,
      ...(media.telephoneEventPt !== undefined ? { telephoneEventPt: media.telephoneEventPt } : {}),
    });
    return { codec: media.codec };
  }

  fromCard(pcm: Buffer): void {
    this.pipeline?.fromCard(pcm);
  }

  toCard(): Buffer {
    return this.pipeline ? this.pipeline.toCard() : this.silence;
  }

  stats(): MediaLegStats {
    const c = this.rtp.counters;
    const rtt = this.rtp.rttMs;
    return {
      packetsSent: c.packetsSent,
      packetsReceived: c.packetsReceived,
      lost: c.lost,
      badPackets: c.badPackets,
      jitterMs: Math.round(this.rtp.jitterMs * 10) / 10,
      ...(rtt !== undefined ? { rttMs: Math.round(rtt * 10) / 10 } : {}),
      rtcpSent: c.rtcpSent,
      rtcpReceived: c.rtcpReceived,
      srtpRejected: c.srtpRejected,
    };
  }

  close(): void {
    this.pipeline?.close();
    this.rtp.close().catch((err: unknown) => this.log.warn('RTP socket close failed', { err }));
  }
}

export function rtpMediaFactory(opts: RtpMediaFactoryOptions): MediaFactory {
  const log = opts.log;
  return {
    async open({ callId, cardLaw }) {
      const rtp = await RtpSession.open({
        bindAddress: opts.sip.bindAddress,
        portMin: opts.sip.rtpPortMin,
        portMax: opts.sip.rtpPortMax,
        acceptPayloadTypes: [...opts.sip.codecs.map((c) => STATIC_PT[c]), DEFAULT_TELEPHONE_EVENT_PT],
        log,
      });
      const offer = buildOffer({
        address: opts.sip.advertisedAddress || opts.sip.bindAddress,
        port: rtp.localPort,
        codecs: opts.sip.codecs,
        ptimeMs: opts.sip.ptimeMs,
        telephoneEventPt: DEFAULT_TELEPHONE_EVENT_PT,
      });
      log.debug('media opened', { callId, rtpPort: rtp.localPort });
      return new RtpMediaLeg(rtp, offer, cardLaw, opts, log, callId);
    },
  };
}
