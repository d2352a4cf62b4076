/**
 * The embedded demo contact center: "the agent" for `npm start` when no real contact center is
 * configured. Built from the same SipUserAgent the appliance uses, on config.demoEndpoint's address.
 *
 * For every INVITE: 180 Ringing, then (after `ringMs`) 200 OK with an SDP answer; the caller's
 * audio is echoed back delayed by `echoDelayMs` (default 200 ms) on its own RTP session. Per call
 * it keeps stats the demo prints: packets received/echoed, RMS level of what was received (dBFS)
 * and whether it held non-silent audio. It hangs up when the caller does (and can hang up itself
 * after `hangupAfterMs`, for demos of agent-side hang-up).
 */
import type { Clock } from '../../hw/base/clock';
import { systemClock } from '../../hw/base/clock';
import { errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { SipConfig } from '../config/schema';
import { decode } from '../media/g711';
import { RtpSession } from '../media/rtp-session';
import { answerOffer } from '../media/sdp';
import type { IncomingCall } from './api/incoming-call';
import { SipUserAgent } from './api/user-agent';
import type { SipTimerValues } from './core/transactions/transaction';

/** Below this a 20 ms block counts as silence (dBFS). */
export const SILENCE_THRESHOLD_DBFS = -50;

export interface DemoCallStats {
  sipCallId: string;
  /** The appliance's call id from config.callIdHeader, if the INVITE carried it. */
  applianceCallId: string | undefined;
  codec: string;
  packetsReceived: number;
  packetsEchoed: number;
  /** RMS level of all audio received, dBFS (-Infinity for digital silence or none). */
  rmsDbfs: number;
  /** Did any 20 ms block exceed SILENCE_THRESHOLD_DBFS? */
  nonSilent: boolean;
  endedBy: 'remote' | 'local' | undefined;
}

export interface DemoEndpointOptions {
  config: SipConfig;
  log: Logger;
  clock?: Clock;
  echoDelayMs?: number;
  ringMs?: number;
  hangupAfterMs?: number;
  timers?: SipTimerValues;
}

export class DemoContactCenter extends TypedEmitter<{ 'call-started': [stats: DemoCallStats]; 'call-ended': [stats: DemoCallStats] }> {
  readonly ua: SipUserAgent;
  readonly calls: DemoCallStats[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly opts: DemoEndpointOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log.child('demo-cc');
    const d = opts.config.demoEndpoint;
    this.ua = new SipUserAgent({
      config: { ...opts.config, bindAddress: d.bindAddress, bindPort: d.bindPort, advertisedAddress: '', userAgent: `${opts.config.userAgent} demo contact center` },
      log: this.log,
      clock: this.clock,
      ...(opts.timers ? { timers: opts.timers } : {}),
    });
    this.ua.on('incoming-call', (call) => {
      this.onCall(call).catch((err: unknown) => {
        this.log.warn('demo call failed', { error: errorMessage(err) });
        call.reject(500, 'Demo Endpoint Error');
      });
    });
  }

  async start(): Promise<void> {
    await this.ua.start();
  }

  async stop(): Promise<void> {
    await this.ua.stop();
  }

  get localAddress(): { address: string; port: number } {
    return this.ua.localAddress;
  }

  private async onCall(call: IncomingCall): Promise<void> {
    const cfg = this.opts.config;
    const rtp = await RtpSession.open({
      bindAddress: this.opts.config.demoEndpoint.bindAddress,
      portMin: cfg.rtpPortMin,
      portMax: cfg.rtpPortMax,
      acceptPayloadTypes: [0, 8, 101],
      log: this.log,
    });
    let answer: ReturnType<typeof answerOffer>;
    try {
      answer = answerOffer(call.sdpOffer, { address: this.ua.localAddress.address, port: rtp.localPort, codecs: cfg.codecs, ptimeMs: cfg.ptimeMs });
    } catch (err) {
      await rtp.close();
      call.reject(488, 'Not Acceptable Here');
      this.log.warn('demo call rejected: SDP', { error: errorMessage(err) });
      return;
    }
    const media = answer.media;
    rtp.setRemote(media.address, media.port);
    rtp.setAcceptedPayloadTypes(media.telephoneEventPt !== undefined ? [media.payloadType, media.telephoneEventPt] : [media.payloadType]);
    const stats: DemoCallStats = {
      sipCallId: call.sipCallId,
      applianceCallId: call.header(cfg.callIdHeader),
      codec: media.codec,
      packetsReceived: 0,
      packetsEchoed: 0,
      rmsDbfs: -Infinity,
      nonSilent: false,
      endedBy: undefined,
    };
    this.calls.push(stats);
    const law = media.codec === 'PCMU' ? 'ulaw' : 'alaw';
    let sumSquares = 0;
    let samples = 0;
    const echoDelayMs = this.opts.echoDelayMs ?? 200;
    rtp.on('packet', (p) => {
      if (p.payloadType !== media.payloadType) return;
      stats.packetsReceived++;
      const linear = decode(law, p.payload);
      let block = 0;
      for (const s of linear) block += s * s;
      sumSquares += block;
      samples += linear.length;
      if (linear.length > 0 && 10 * Math.log10(block / linear.length / 32768 ** 2) > SILENCE_THRESHOLD_DBFS) stats.nonSilent = true;
      stats.rmsDbfs = samples > 0 ? 10 * Math.log10(sumSquares / samples / 32768 ** 2) : -Infinity;
      const payload = Buffer.from(p.payload);
      this.clock.setTimeout(() => {
        if (stats.endedBy !== undefined) return;
        rtp.send(media.payloadType, payload, payload.length, p.marker);
        stats.packetsEchoed++;
      }, echoDelayMs);
    });
    call.on('ended', (by, reason) => {
      stats.endedBy = by;
      void rtp.close();
      this.log.info('demo call ended', { callId: stats.sipCallId, by, reason, packetsReceived: stats.packetsReceived, rmsDbfs: stats.rmsDbfs, nonSilent: stats.nonSilent });
      this.emit('call-ended', stats);
    });
    call.ring();
    this.emit('call-started', stats);
    this.clock.setTimeout(() => {
      call.answer(answer.sdp);
      const after = this.opts.hangupAfterMs;
      if (after !== undefined) this.clock.setTimeout(() => void call.hangup(), after);
    }, this.opts.ringMs ?? 0);
  }
}
