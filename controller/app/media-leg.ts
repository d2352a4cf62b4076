/**
 * The MediaFactory the call manager uses (controller/call/ports.ts), built from the media layer:
 * an RtpSession for the call, an SDP offer, and once the answer is in, the per-channel pipeline
 * (DESIGN.md §5) with the call's uplink processor.
 *
 * SRTP (sip.srtp, RFC 4568 SDES): a fresh 30-byte master key||salt per leg from crypto.randomBytes,
 * put only in our SDP; the negotiated keys go to an SrtpProtector on the RTP session. Keys are
 * never logged. Offers from the SIP side (`answerOffer`: the INVITE of a SIP → PSTN call or a
 * re-INVITE/UPDATE) are answered with the same leg; `sendonly`/`inactive` (hold, RFC 3264 §8.4)
 * stops our sending and keeps receiving; a codec change rebuilds the pipeline.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../hw/base/logger';
import type { CompandingLaw } from '../../hw/card/types';
import type { MediaFactory, MediaLeg, MediaLegStats } from '../call/ports';
import type { SipConfig } from '../config/schema';
import { CARD_CHUNK_SAMPLES, ChannelPipeline, type RtpMediaPort } from '../media/channel-pipeline';
import { CallProgressGenerator, tonePlan } from '../dsp/call-progress-tones';
import { SILENCE_BYTE, encode } from '../media/g711';
import { RtpSession } from '../media/rtp-session';
import { DEFAULT_TELEPHONE_EVENT_PT, STATIC_PT, answerOffer, buildOffer, parseAnswer, type LocalMedia, type NegotiatedMedia } from '../media/sdp';
import { SrtpProtector, splitKeySalt } from '../media/srtp-protector';
import { AwaitingKeysProtector } from '../media/media-protector';
import type { UplinkDigit } from '../media/telephone-event-sender';
import type { UplinkProcessor } from '../media/uplink-processor';

export interface RtpMediaFactoryOptions {
  sip: SipConfig;
  log: Logger;
  /** A new uplink processor per call (the DSP in normal mode). */
  uplink: (callId: string) => UplinkProcessor;
  /** Country of the local ringback tone (call-progress-tones plans; default 'us'). */
  toneCountry?: string;
  /** Send uplink digits as RFC 4733 (the strip-always DSP policy; never in secure mode). Default false. */
  uplinkEvents?: boolean;
  /** Sees every encoded uplink payload as it leaves (the masking record's second check). */
  onUplinkPayload?: (callId: string, payload: Uint8Array, law: CompandingLaw) => void;
}

class RtpMediaLeg implements MediaLeg {
  private pipeline: ChannelPipeline | undefined;
  private readonly silence: Buffer;
  private localTone: 'ringback' | null = null;
  private ringback: CallProgressGenerator | undefined;
  private readonly toneBlock = new Int16Array(CARD_CHUNK_SAMPLES);

  private current: NegotiatedMedia | undefined;
  readonly sdpOffer: string;

  constructor(
    private readonly rtp: RtpSession,
    private readonly local: LocalMedia,
    private readonly cardLaw: CompandingLaw,
    private readonly opts: RtpMediaFactoryOptions,
    private readonly log: Logger,
    private readonly callId: string,
  ) {
    this.silence = Buffer.alloc(CARD_CHUNK_SAMPLES, SILENCE_BYTE[cardLaw]);
    this.sdpOffer = buildOffer(local);
    // An SRTP offer: until the answer brings the far end's key, nothing that arrives is media.
    if (local.srtp) rtp.setProtector(new AwaitingKeysProtector());
  }

  applyAnswer(sdpAnswer: string): { codec: string } {
    const media = parseAnswer(sdpAnswer, { codecs: this.opts.sip.codecs, ptimeMs: this.opts.sip.ptimeMs, ...(this.local.srtp ? { srtp: this.local.srtp } : {}) });
    this.start(media);
    return { codec: media.codec };
  }

  answerOffer(sdpOffer: string): { sdp: string; codec: string } {
    // RFC 3264 §8: the same o= session id, its version one higher for every new description.
    this.local.sessionVersion = (this.local.sessionVersion ?? 1) + 1;
    const { sdp, media } = answerOffer(sdpOffer, this.local);
    this.start(media);
    return { sdp, codec: media.codec };
  }

  /** (Re)starts media toward what was negotiated. */
  private start(media: NegotiatedMedia): void {
    this.rtp.setRemote(media.address, media.port, { ...(media.rtcpPort !== undefined ? { port: media.rtcpPort } : {}), mux: media.rtcpMux ?? false });
    this.rtp.setProtector(media.srtp ? new SrtpProtector(splitKeySalt(media.srtp.localKey), splitKeySalt(media.srtp.remoteKey), media.srtp.suite) : undefined);
    this.rtp.setAcceptedPayloadTypes(media.telephoneEventPt !== undefined ? [media.payloadType, media.telephoneEventPt] : [media.payloadType]);
    // RFC 3264 §8.4: the far end's sendonly/inactive means we stop sending (hold); we keep receiving.
    this.rtp.setSending(media.direction === 'sendrecv' || media.direction === 'recvonly');
    const prev = this.current;
    this.current = media;
    if (this.pipeline && prev && prev.codec === media.codec && prev.payloadType === media.payloadType && prev.ptimeMs === media.ptimeMs && prev.telephoneEventPt === media.telephoneEventPt) return;
    this.pipeline?.close();
    const law: CompandingLaw = media.codec === 'PCMU' ? 'ulaw' : 'alaw';
    const tap = this.opts.onUplinkPayload;
    const rtp = this.rtp;
    const callId = this.callId;
    const port: RtpMediaPort = tap
      ? {
          send(payloadType, payload, samples, marker, timestampOffset) {
            if (payloadType === media.payloadType) tap(callId, payload, law);
            rtp.send(payloadType, payload, samples, marker, timestampOffset);
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
      jitterTargetMs: this.opts.sip.jitter.initialMs,
      jitterMinMs: this.opts.sip.jitter.minMs,
      jitterMaxMs: this.opts.sip.jitter.maxMs,
      uplinkEvents: this.opts.uplinkEvents ?? false,
      ...(this.opts.toneCountry !== undefined ? { toneCountry: this.opts.toneCountry } : {}),
    });
    if (this.localTone) this.pipeline.setLocalTone(this.localTone);
  }

  fromCard(pcm: Buffer): void {
    this.pipeline?.fromCard(pcm);
  }

  /** Local ringback toward the PSTN (before the answer, and after it while the far end sends nothing), or null. */
  setLocalTone(kind: 'ringback' | null): void {
    this.localTone = kind;
    this.ringback = kind === 'ringback' ? new CallProgressGenerator(tonePlan(this.opts.toneCountry ?? 'us', 'ringback')) : undefined;
    this.pipeline?.setLocalTone(kind);
  }

  /** A digit the call's uplink DSP detected: sent as RFC 4733 only outside secure mode, per policy (ChannelPipeline.uplinkDigit). */
  uplinkDigit(digit: UplinkDigit): boolean {
    return this.pipeline?.uplinkDigit(digit) ?? false;
  }

  toCard(): Buffer {
    if (this.pipeline) return this.pipeline.toCard();
    if (!this.ringback) return this.silence;
    this.ringback.fill(this.toneBlock);
    return Buffer.from(encode(this.cardLaw, this.toneBlock));
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
      ...(this.pipeline ? jitterStats(this.pipeline) : {}),
      rtcpSent: c.rtcpSent,
      rtcpReceived: c.rtcpReceived,
      srtpRejected: c.srtpRejected,
      srtcpRejected: c.srtcpRejected,
      srtpBeforeAnswer: c.srtpBeforeAnswer,
    };
  }

  close(): void {
    this.pipeline?.close();
    this.rtp.close().catch((err: unknown) => this.log.warn('RTP socket close failed', { err }));
  }
}

function jitterStats(p: ChannelPipeline): Record<string, number> {
  const c = p.counters;
  return {
    jitterBufferMs: c.jitter.depthMs,
    jitterTargetMs: c.jitter.targetDepthMs,
    concealedSamples: c.jitter.concealedSamples,
    latePackets: c.jitter.late,
    underruns: c.jitter.underruns,
    agentDigits: c.events.digitsPlayed,
  };
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
      const local: LocalMedia = {
        address: opts.sip.advertisedAddress || opts.sip.bindAddress,
        port: rtp.localPort,
        codecs: opts.sip.codecs,
        ptimeMs: opts.sip.ptimeMs,
        telephoneEventPt: DEFAULT_TELEPHONE_EVENT_PT,
        sessionId: Math.floor(Date.now() / 1000),
        sessionVersion: 1,
        ...(opts.sip.srtp !== 'off'
          ? { srtp: { mode: opts.sip.srtp, key: randomBytes(30), suites: opts.sip.srtpSuites, extraKeys: opts.sip.srtpSuites.slice(1).map(() => randomBytes(30)) } }
          : {}),
      };
      log.debug('media opened', { callId, rtpPort: rtp.localPort, srtp: opts.sip.srtp });
      return new RtpMediaLeg(rtp, local, cardLaw, opts, log, callId);
    },
  };
}
