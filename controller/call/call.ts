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
 */
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { PstnCall, PstnRelease } from '../pstn/types';
import { sipStatusToQ850 } from './cause-map';
import type { MediaLeg, SipDialer, SipLeg } from './ports';

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
  direction: 'inbound';
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
}

export class Call {
  readonly record: CallRecord;
  private leg: SipLeg | undefined;
  /** A 2xx arrived: the dialog exists and ends with BYE, not CANCEL. */
  private sipAnswered = false;
  /** Settles when the releases this call started have finished (failures are logged, not thrown). */
  private released: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: CallOptions) {
    const i = opts.pstn.info;
    this.log = opts.log;
    this.record = {
      callId: opts.callId,
      direction: 'inbound',
      trunk: i.trunk,
      port: i.port,
      channel: i.channel,
      callerNumber: i.callerNumber,
      callerName: i.callerName,
      calledNumber: i.calledNumber,
      requestUri: opts.requestUri,
      state: 'inviting',
      sipCallId: null,
      codec: null,
      startedMs: opts.now(),
      answeredMs: null,
      endedMs: null,
      endBy: null,
      endReason: null,
      q850: null,
      sipStatus: null,
    };
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
    });
    leg.on('answered', (sdp) => this.onSipAnswered(sdp));
    leg.on('failed', (status, reason) => {
      this.record.sipStatus = status;
      this.end('sip', sipStatusToQ850(status), `SIP ${status} ${reason}`);
    });
    leg.on('ended', (by, reason) => {
      if (by === 'remote') this.end('sip', 16, reason || 'BYE from contact center');
    });
    this.log.info('call started', { callId: this.record.callId, trunk: this.record.trunk, sipCallId: leg.sipCallId });
  }

  /** Ends the call from this side (shutdown, drain, fleet command). */
  /** Resolves once both legs' release requests (BYE/CANCEL sent, PSTN on-hook acknowledged) are done. */
  hangup(reason: string, q850 = 16): Promise<void> {
    this.end('local', q850, reason);
    return this.released;
  }

  private onSipAnswered(sdp: string): void {
    if (this.state !== 'inviting' && this.state !== 'alerting') return;
    this.sipAnswered = true;
    try {
      this.record.codec = this.opts.media.applyAnswer(sdp).codec;
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
    if (by !== 'sip' && leg) {
      if (this.sipAnswered) pending.push(leg.hangup().catch((err: unknown) => this.log.warn('BYE failed', { callId: this.record.callId, err: errorMessage(err) })));
      else leg.cancel();
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
