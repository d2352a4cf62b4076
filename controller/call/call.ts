/**
 * One bridged call, PSTN → SIP (the inbound direction of DESIGN.md §2 "Normal call").
 *
 *   inviting ──180/183──▶ alerting ──200 OK──▶ connecting ──PSTN off-hook──▶ active
 *      │                     │                    │                            │
 *      └── failed / PSTN released / error ────────┴──── BYE / PSTN released ───┴──▶ ending ──▶ ended
 *
 * The PSTN line is answered only when the contact center answers (the caller keeps hearing the
 * exchange's ringing meanwhile and is not charged for an unanswered call). A SIP failure maps to a
 * Q.850 cause by RFC 3398; a PSTN release before answer CANCELs the INVITE, after answer sends BYE.
 *
 * - Early media: a 18x with SDP applies the answer at once (the caller hears the contact center's
 *   ringback or announcements); a 180 without SDP asks the media leg for local ringback toward the
 *   PSTN until media arrives or the call is answered.
 * - Reason (RFC 3326): our BYE/CANCEL carry the PSTN side's Q.850 cause; a Reason on the contact
 *   center's BYE or failure response is the cause given to the PSTN (else RFC 3398 by status).
 * - INFO on the dialog goes to the call manager's handler; offers in re-INVITE/UPDATE (hold,
 *   resume, codec change) are answered by the media leg.
 */
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { PstnCall, PstnRelease } from '../pstn/types';
import { sipStatusToQ850 } from './cause-map';
import { answerLegInfo } from './info-reply';
import type { InfoReply, InfoRequest, MediaLeg, SipDialer, SipLeg } from './ports';

export type CallState = 'inviting' | 'alerting' | 'connecting' | 'active' | 'ending' | 'ended';

const TRANSITIONS: Record<CallState, readonly CallState[]> = {
  inviting: ['alerting', 'connecting', 'ending'],
  alerting: ['connecting', 'ending'],
  connecting: ['active', 'ending'],
  active: ['ending'],
  ending: ['ended'],
  ended: [],
};

export type CallEventType = 'call.started' | 'call.answered' | 'call.ended';

/** The call as reported: CDR row, MQTT snapshot and events are all derived from this. */
export interface CallRecord {
  callId: string;
  /** inbound: PSTN → SIP; outbound: SIP → PSTN. */
  direction: 'inbound' | 'outbound';
  trunk: string;
  port: number;
  channel: number;
  callerNumber: string;
  callerName: string;
  calledNumber: string;
  requestUri: string;
  state: CallState;
  sipCallId: string | null;
  codec: string | null;
  startedMs: number;
  answeredMs: number | null;
  endedMs: number | null;
  endBy: 'pstn' | 'sip' | 'local' | null;
  endReason: string | null;
  q850: number | null;
  sipStatus: number | null;
}

/** What a call is when it starts; everything that happens to it later begins empty. */
export type CallIdentity = Pick<CallRecord, 'callId' | 'direction' | 'trunk' | 'port' | 'channel' | 'callerNumber' | 'callerName' | 'calledNumber' | 'requestUri' | 'sipCallId'>;

/** A new record in `inviting`, for either direction. */
export function newCallRecord(identity: CallIdentity, startedMs: number): CallRecord {
  return { ...identity, state: 'inviting', codec: null, startedMs, answeredMs: null, endedMs: null, endBy: null, endReason: null, q850: null, sipStatus: null };
}

export interface CallRecorder {
  /** Called on every reportable change, in order; must persist and report (store + outbox + MQTT). */
  changed(record: Readonly<CallRecord>, event: CallEventType): void;
}

export interface CallOptions {
  callId: string;
  pstn: PstnCall;
  requestUri: string;
  callIdHeader: string;
  sip: SipDialer;
  media: MediaLeg;
  recorder: CallRecorder;
  log: Logger;
  now: () => number;
  /** Called once the call is ended and its resources released. */
  onEnded: (call: Call) => void;
  /** The call manager's INFO handler at the time an INFO arrives (undefined: none registered). */
  infoHandler?: () => ((req: InfoRequest) => InfoReply | Promise<InfoReply>) | undefined;
}

/** What the call manager needs of a bridged call, whichever direction. */
export interface BridgedCall {
  readonly record: CallRecord;
  readonly state: CallState;
  readonly channel: number;
  readonly media: MediaLeg;
  /**
   * Which audio moves between card and media now: `both` once active; `downlink` only (toward the
   * PSTN caller) for early media or local ringback before the answer; `none` otherwise.
   */
  readonly audio: 'none' | 'downlink' | 'both';
  hangup(reason: string, q850?: number): Promise<void>;
  sendInfo(contentType: string, body: Buffer): Promise<number>;
}

export class Call implements BridgedCall {
  readonly record: CallRecord;
  private leg: SipLeg | undefined;
  /** A 2xx arrived: the dialog exists and ends with BYE, not CANCEL. */
  private sipAnswered = false;
  /** The SDP answer applied early (18x with SDP), to skip re-applying the same one from the 2xx. */
  private earlyAnswer: string | undefined;
  private localTone = false;
  /** Settles when the releases this call started have finished (failures are logged, not thrown). */
  private released: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: CallOptions) {
    const i = opts.pstn.info;
    this.log = opts.log;
    this.record = newCallRecord(
      {
        callId: opts.callId,
        direction: 'inbound',
        trunk: i.trunk,
        port: i.port,
        channel: i.channel,
        callerNumber: i.callerNumber,
        callerName: i.callerName,
        calledNumber: i.calledNumber,
        requestUri: opts.requestUri,
        sipCallId: null,
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

  get audio(): 'none' | 'downlink' | 'both' {
    const s = this.state;
    if (s === 'active') return 'both';
    return (s === 'alerting' || s === 'connecting') && (this.earlyAnswer !== undefined || this.localTone) ? 'downlink' : 'none';
  }

  /** INFO on the call's dialog (RFC 6086); rejects with a TonewallError before answer or after the end. */
  sendInfo(contentType: string, body: Buffer): Promise<number> {
    const leg = this.leg;
    if (!leg || !this.sipAnswered || this.state === 'ending' || this.state === 'ended') {
      return Promise.reject(new TonewallError('ECALL_NO_DIALOG', `call ${this.record.callId} is ${this.state}: INFO needs an answered SIP dialog`));
    }
    return leg.sendInfo(contentType, body);
  }

  /** Sends the INVITE and wires both legs' events. */
  start(): void {
    const { pstn, sip, media } = this.opts;
    pstn.on('released', (r) => this.onPstnReleased(r));
    pstn.on('answered', () => this.onPstnAnswered());
    const leg = sip.invite({
      requestUri: this.opts.requestUri,
      fromUser: pstn.info.callerNumber || 'anonymous',
      fromDisplayName: pstn.info.callerName || undefined,
      headers: { [this.opts.callIdHeader]: this.record.callId },
      sdpOffer: media.sdpOffer,
    });
    this.leg = leg;
    this.record.sipCallId = leg.sipCallId;
    this.opts.recorder.changed(this.record, 'call.started');
    leg.on('progress', (status) => {
      if (status >= 180 && this.state === 'inviting') this.transition('alerting');
      if (status === 180 && this.earlyAnswer === undefined && !this.localTone && this.state === 'alerting' && media.setLocalTone) {
        this.localTone = true;
        media.setLocalTone('ringback');
      }
    });
    leg.on('early-media', (sdp) => this.onEarlyMedia(sdp));
    leg.on('answered', (sdp) => this.onSipAnswered(sdp));
    leg.on('failed', (status, reason, q850) => {
      this.record.sipStatus = status;
      this.end('sip', q850 ?? sipStatusToQ850(status), `SIP ${status} ${reason}`);
    });
    leg.on('ended', (by, reason, q850) => {
      if (by === 'remote') this.end('sip', q850 ?? 16, reason || 'BYE from contact center');
    });
    leg.on('remote-offer', () => this.log.info('SIP session changed by the contact center', { callId: this.record.callId }));
    leg.onInfo((info) => {
      return answerLegInfo(info, this.record.callId, this.opts.infoHandler?.());
    });
    leg.onOffer((offer) => {
      if (!media.answerOffer) throw new TonewallError('ESDP', 'this media leg cannot answer a new offer');
      const { sdp, codec } = media.answerOffer(offer);
      this.record.codec = codec;
      return sdp;
    });
    this.log.info('call started', { callId: this.record.callId, trunk: this.record.trunk, sipCallId: leg.sipCallId });
  }

  /** Ends the call from this side (shutdown, drain, fleet command). */
  /** Resolves once both legs' release requests (BYE/CANCEL sent, PSTN on-hook acknowledged) are done. */
  hangup(reason: string, q850 = 16): Promise<void> {
    this.end('local', q850, reason);
    return this.released;
  }

  private stopLocalTone(): void {
    if (!this.localTone) return;
    this.localTone = false;
    this.opts.media.setLocalTone?.(null);
  }

  /** 18x with SDP: apply the answer now so the caller hears the far end's progress audio. */
  private onEarlyMedia(sdp: string): void {
    if (this.state !== 'inviting' && this.state !== 'alerting') return;
    try {
      this.record.codec = this.opts.media.applyAnswer(sdp).codec;
    } catch (err) {
      this.log.warn('early media SDP not usable: waiting for the answer', { callId: this.record.callId, err: errorMessage(err) });
      return;
    }
    this.stopLocalTone();
    this.earlyAnswer = sdp;
    if (this.state === 'inviting') this.transition('alerting');
  }

  private onSipAnswered(sdp: string): void {
    if (this.state !== 'inviting' && this.state !== 'alerting') return;
    this.sipAnswered = true;
    this.stopLocalTone();
    try {
      // RFC 3261 §13.2.1: the answer in the 2xx is the same as the early one; apply it only when it differs.
      if (this.earlyAnswer === undefined || sdp.trim() !== this.earlyAnswer.trim()) {
        this.record.codec = this.opts.media.applyAnswer(sdp.trim() !== '' ? sdp : this.earlyAnswer ?? sdp).codec;
      }
    } catch (err) {
      // 488-class problem in the answer: the dialog exists, so it is closed with BYE.
      this.end('local', 127, `unusable SDP answer: ${errorMessage(err)}`);
      return;
    }
    this.transition('connecting');
    this.opts.pstn.answer().catch((err: unknown) => this.end('local', 41, `PSTN answer failed: ${errorMessage(err)}`));
  }

  private onPstnAnswered(): void {
    if (this.state !== 'connecting') return;
    this.record.answeredMs = this.opts.now();
    this.transition('active');
    this.opts.recorder.changed(this.record, 'call.answered');
    this.log.info('call active', { callId: this.record.callId, codec: this.record.codec });
  }

  private onPstnReleased(r: PstnRelease): void {
    this.end(r.by === 'pstn' ? 'pstn' : 'local', r.q850, r.reason);
  }

  private end(by: 'pstn' | 'sip' | 'local', q850: number, reason: string): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.transition('ending');
    this.record.endBy = by;
    this.record.q850 = q850;
    this.record.endReason = reason;
    const leg = this.leg;
    const pending: Promise<void>[] = [];
    this.stopLocalTone();
    if (by !== 'sip' && leg) {
      const why = { cause: q850, text: reason };
      if (this.sipAnswered) pending.push(leg.hangup(why).catch((err: unknown) => this.log.warn('BYE failed', { callId: this.record.callId, err: errorMessage(err) })));
      else leg.cancel(why);
    }
    if (by !== 'pstn') {
      pending.push(this.opts.pstn.hangup(q850, reason).catch((err: unknown) => this.log.warn('PSTN release failed', { callId: this.record.callId, err: errorMessage(err) })));
    }
    this.released = Promise.all(pending).then(() => undefined);
    this.opts.media.close();
    this.record.endedMs = this.opts.now();
    this.transition('ended');
    this.opts.recorder.changed(this.record, 'call.ended');
    this.log.info('call ended', { callId: this.record.callId, by, q850, reason, media: this.opts.media.stats() });
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
