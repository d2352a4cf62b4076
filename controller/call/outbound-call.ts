/**
 * One bridged call, SIP → PSTN (the outward direction of DESIGN.md §2 "Normal call"): an INVITE
 * from the SIP side becomes an outward call on a PSTN trunk (`PstnDialer.placeCall`).
 *
 *   inviting ──PSTN alerting/progress──▶ alerting ──PSTN answered──▶ connecting ─▶ active
 *      │  (180, or 183 + SDP when the PSTN     │   (200 OK + SDP answer)             │
 *      │   has in-band audio: early media)     │                                     │
 *      └── PSTN released / CANCEL / error ─────┴────── BYE / PSTN released ──────────┴─▶ ending ─▶ ended
 *
 * Release causes: a PSTN release before answer answers the INVITE with the RFC 3398 §8.2.6.1
 * status for its Q.850 cause plus a Reason header (RFC 3326); after answer, BYE with Reason. A
 * CANCEL or BYE from the SIP side releases the PSTN leg with the Reason's cause when one came,
 * else 16 (normal clearing).
 */
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { PstnCall, PstnDialer, PstnRelease } from '../pstn/types';
import { newCallRecord, type CallEventType, type BridgedCall, type CallRecord, type CallRecorder, type CallState } from './call';
import { q850ToSipStatus } from './cause-map';
import { answerLegInfo } from './info-reply';
import type { InfoReply, InfoRequest, MediaLeg, SipInboundLeg } from './ports';

const TRANSITIONS: Record<CallState, readonly CallState[]> = {
  inviting: ['alerting', 'connecting', 'ending'],
  alerting: ['connecting', 'ending'],
  connecting: ['active', 'ending'],
  active: ['ending'],
  ending: ['ended'],
  ended: [],
};

export interface OutboundCallOptions {
  callId: string;
  leg: SipInboundLeg;
  /** The number to dial after routing, and the trunk the route chose. */
  calledNumber: string;
  trunk: string | undefined;
  dialer: PstnDialer;
  media: MediaLeg;
  recorder: CallRecorder;
  log: Logger;
  now: () => number;
  infoHandler?: () => ((req: InfoRequest) => InfoReply | Promise<InfoReply>) | undefined;
  /** The PSTN channel carrying the call is known (audio can be routed). */
  onChannel: (call: OutboundCall) => void;
  onEnded: (call: OutboundCall) => void;
}

/** The caller's number from a From URI user part, when it is dialable. */
function callerNumberOf(uri: string): string {
  return /^(?:sips?:|tel:)(\+?[0-9*#]{1,32})(?:[@;]|$)/i.exec(uri)?.[1] ?? '';
}

export class OutboundCall implements BridgedCall {
  readonly record: CallRecord;
  private pstn: PstnCall | undefined;
  private sdpAnswer = '';
  private earlyMedia = false;
  private released: Promise<void> = Promise.resolve();

  constructor(private readonly opts: OutboundCallOptions) {
    const caller = opts.leg.caller;
    this.record = newCallRecord(
      {
        callId: opts.callId,
        direction: 'outbound',
        trunk: opts.trunk ?? '',
        port: 0,
        channel: -1,
        callerNumber: callerNumberOf(caller.uri),
        callerName: caller.displayName ?? '',
        calledNumber: opts.calledNumber,
        requestUri: opts.leg.requestUri,
        sipCallId: opts.leg.sipCallId,
      },
      opts.now(),
    );
  }

  get state(): CallState {
    return this.record.state;
  }

  get channel(): number {
    return this.record.channel;
  }

  get media(): MediaLeg {
    return this.opts.media;
  }

  /** Early media (the PSTN's in-band progress) flows toward SIP before the answer: the card's audio is the uplink. */
  get audio(): 'none' | 'downlink' | 'both' {
    return this.state === 'active' || (this.state === 'alerting' && this.earlyMedia) ? 'both' : 'none';
  }

  /** Answers the SIP offer, places the PSTN call and wires both legs. */
  start(): void {
    const { leg } = this.opts;
    leg.on('ended', (by, reason, q850) => {
      if (by === 'remote') this.end('sip', q850 ?? 16, reason);
    });
    leg.onInfo((info) => {
      return answerLegInfo(info, this.record.callId, this.opts.infoHandler?.());
    });
    leg.onOffer((offer) => this.answerOffer(offer));
    try {
      this.sdpAnswer = this.answerOffer(leg.sdpOffer);
    } catch (err) {
      this.opts.recorder.changed(this.record, 'call.started');
      this.record.sipStatus = 488;
      this.end('local', 65, `unusable SDP offer: ${errorMessage(err)}`);
      return;
    }
    let pstn: PstnCall;
    try {
      pstn = this.opts.dialer.placeCall({
        calledNumber: this.opts.calledNumber,
        ...(this.record.callerNumber !== '' ? { callingNumber: this.record.callerNumber } : {}),
        ...(this.record.callerName !== '' ? { callingName: this.record.callerName } : {}),
        ...(this.opts.trunk !== undefined ? { trunk: this.opts.trunk } : {}),
      });
    } catch (err) {
      this.opts.recorder.changed(this.record, 'call.started');
      this.end('local', 28, `PSTN call not placed: ${errorMessage(err)}`);
      return;
    }
    this.pstn = pstn;
    this.takeInfo(pstn);
    this.opts.recorder.changed(this.record, 'call.started');
    pstn.on('progress', (kind, inband) => this.onProgress(kind, inband));
    pstn.on('answered', () => this.onAnswered());
    pstn.on('released', (r) => this.onReleased(r));
    this.opts.log.info('outbound call started', { callId: this.record.callId, sipCallId: leg.sipCallId, trunk: this.opts.trunk ?? 'any' });
  }

  hangup(reason: string, q850 = 16): Promise<void> {
    this.end('local', q850, reason);
    return this.released;
  }

  sendInfo(contentType: string, body: Buffer): Promise<number> {
    if (this.state !== 'active') {
      return Promise.reject(new TonewallError('ECALL_NO_DIALOG', `call ${this.record.callId} is ${this.state}: INFO needs an answered SIP dialog`));
    }
    return this.opts.leg.sendInfo(contentType, body);
  }

  private answerOffer(offer: string): string {
    const media = this.opts.media;
    if (!media.answerOffer) throw new TonewallError('ESDP', 'this media leg cannot answer an SDP offer');
    const { sdp, codec } = media.answerOffer(offer);
    this.record.codec = codec;
    return sdp;
  }

  private takeInfo(pstn: PstnCall): void {
    const i = pstn.info;
    this.record.trunk = i.trunk;
    this.record.port = i.port;
    if (i.channel !== this.record.channel && i.channel >= 0) {
      this.record.channel = i.channel;
      this.opts.onChannel(this);
    }
  }

  private onProgress(kind: 'proceeding' | 'alerting' | 'progress', inband: boolean): void {
    if (this.state !== 'inviting' && this.state !== 'alerting') return;
    if (this.pstn) this.takeInfo(this.pstn);
    if (inband && !this.earlyMedia) {
      this.earlyMedia = true;
      if (this.state === 'inviting') this.transition('alerting');
      this.opts.leg.progress(this.sdpAnswer);
      return;
    }
    if (kind === 'alerting' && this.state === 'inviting') {
      this.transition('alerting');
      this.opts.leg.ring();
    }
  }

  private onAnswered(): void {
    if (this.state !== 'inviting' && this.state !== 'alerting') return;
    if (this.pstn) this.takeInfo(this.pstn);
    this.transition('connecting');
    this.opts.leg.answer(this.sdpAnswer);
    this.record.answeredMs = this.opts.now();
    this.transition('active');
    this.opts.recorder.changed(this.record, 'call.answered');
    this.opts.log.info('outbound call active', { callId: this.record.callId, codec: this.record.codec });
  }

  private onReleased(r: PstnRelease): void {
    this.end(r.by === 'pstn' ? 'pstn' : 'local', r.q850, r.reason);
  }

  private end(by: 'pstn' | 'sip' | 'local', q850: number, reason: string): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    const answered = this.state === 'active' || this.state === 'connecting';
    this.transition('ending');
    this.record.endBy = by;
    this.record.q850 = q850;
    this.record.endReason = reason;
    const pending: Promise<void>[] = [];
    if (by !== 'sip') {
      const why = { cause: q850, text: reason };
      if (answered) pending.push(this.opts.leg.hangup(why).catch((err: unknown) => this.opts.log.warn('BYE failed', { callId: this.record.callId, err: errorMessage(err) })));
      else {
        const status = this.record.sipStatus ?? q850ToSipStatus(q850);
        this.record.sipStatus = status;
        this.opts.leg.reject(status, undefined, why);
      }
    }
    if (by !== 'pstn' && this.pstn) {
      pending.push(this.pstn.hangup(q850, reason).catch((err: unknown) => this.opts.log.warn('PSTN release failed', { callId: this.record.callId, err: errorMessage(err) })));
    }
    this.released = Promise.all(pending).then(() => undefined);
    this.opts.media.close();
    this.record.endedMs = this.opts.now();
    this.transition('ended');
    this.opts.recorder.changed(this.record, 'call.ended' satisfies CallEventType);
    this.opts.log.info('outbound call ended', { callId: this.record.callId, by, q850, reason });
    this.opts.onEnded(this);
  }

  private transition(to: CallState): void {
    const from = this.record.state;
    if (!TRANSITIONS[from].includes(to)) {
      throw new TonewallError('ECALL_TRANSITION', `call ${this.record.callId}: illegal transition ${from} → ${to}`);
    }
    this.record.state = to;
  }
}
