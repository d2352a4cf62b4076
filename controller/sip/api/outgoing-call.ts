/**
 * An outgoing call (UAC INVITE, RFC 3261 §13.2) as the call manager sees it.
 *
 *   calling --1xx--> proceeding --2xx--> established --hangup()/BYE--> terminated
 *      |                 |                    \--hangup()--> terminating --BYE final/timeout--> terminated
 *      |                 +--cancel()--> cancelling --487/final--> terminated (failed)
 *      |                                     \--2xx (race, §9.1)--> ACK + BYE --> terminated (failed 487)
 *      +--3xx-6xx / Timer B--> terminated (failed)
 *
 * - cancel() before any provisional response waits for one (§9.1 "SHOULD NOT send CANCEL before
 *   a provisional response"); a CANCEL shares the INVITE's branch, Request-URI, Call-ID, From, To and
 *   CSeq number (§9.1).
 * - The 2xx is ACKed by this object (§13.2.2.4), also every retransmission of it.
 * - An answer timeout (`answerTimeoutMs`) cancels the call and reports failed(408).
 * - The INVITE says `Supported: timer, 100rel` and asks for a session timer (RFC 4028 §7.1); a 422
 *   is retried once with the peer's Min-SE (new CSeq, same Call-ID and From tag). A reliable 18x
 *   (RFC 3262) is PRACKed in the early dialog (prack.ts). A 18x with SDP is early media
 *   ('early-media', the answer applied before the 2xx).
 * - Reason (RFC 3326): the Q.850 cause given to cancel()/hangup() goes on the CANCEL/BYE; a Reason
 *   on the peer's BYE or final response is passed with 'ended'/'failed'.
 * - Once answered, INFO, re-INVITE/UPDATE and the session timer run in a DialogSession.
 */
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { TimerHandle } from '../../../hw/base/clock';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import { addHeader, cseq, header, headerValues, newRequest, removeHeader, setHeader, type SipRequest, type SipResponse } from '../core/messages/message';
import { Dialog, uriDestination } from '../core/dialogs/dialog';
import { DEFAULT_SESSION_TIMER, intervalAfter422, uacTimerFromResponse, type ActiveSessionTimer } from '../core/dialogs/session-timer';
import type { ClientTransaction, ServerTransaction } from '../core/transaction-layer';
import { StateMachine, type TransitionTable } from '../core/transactions/state-machine';
import type { Destination } from '../core/transactions/transaction';
import { DialogSession, type InfoHandler, type ModifyResult, type OfferHandler } from './dialog-session';
import { buildPrack, reliableRSeq } from './prack';
import { formatQ850Reason, readQ850Reason, type Q850Reason } from './reason-header';
import type { UaContext } from './ua-context';

export type OutgoingCallState = 'calling' | 'proceeding' | 'cancelling' | 'established' | 'terminating' | 'terminated';

const TABLE: TransitionTable<OutgoingCallState> = {
  calling: ['proceeding', 'cancelling', 'established', 'terminated'],
  proceeding: ['cancelling', 'established', 'terminated'],
  cancelling: ['terminating', 'terminated'],
  established: ['terminating', 'terminated'],
  terminating: ['terminated'],
  terminated: [],
};

export interface OutgoingCallEvents {
  progress: [status: number, reason: string];
  /** A 18x carried SDP: the answer for early media (ringback/announcements from the far end). */
  'early-media': [sdpAnswer: string];
  answered: [sdpAnswer: string];
  /** `q850`: the cause of a Reason header on the final response (RFC 3326), when there was one. */
  failed: [status: number, reason: string, q850?: number];
  ended: [by: 'remote' | 'local', reason: string, q850?: number];
  /** The peer changed the session (re-INVITE/UPDATE offer answered). */
  'remote-offer': [sdpOffer: string, sdpAnswer: string];
}

export class OutgoingCall extends TypedEmitter<OutgoingCallEvents> {
  private readonly sm: StateMachine<OutgoingCallState>;
  private inviteTx: ClientTransaction | undefined;
  private dialog: Dialog | undefined;
  private ack: SipRequest | undefined;
  private gotProvisional = false;
  private cancelPending = false;
  private failOverride: { status: number; reason: string } | undefined;
  private answerTimer: TimerHandle | undefined;
  private hangupDone: Promise<void> | undefined;
  private session: DialogSession | undefined;
  private infoHandler: InfoHandler | undefined;
  private offerHandler: OfferHandler | undefined;
  /** RSeq of the last reliable provisional PRACKed, and the CSeq the last PRACK used. */
  private lastRSeq: number | undefined;
  private lastPrackSeq = 0;
  private earlyMediaSent = false;
  private retried422 = false;
  private cancelReason: Q850Reason | undefined;

  constructor(
    private readonly ua: UaContext,
    public invite: SipRequest,
    private readonly answerTimeoutMs: number,
  ) {
    super();
    const policy = ua.sessionTimer ?? DEFAULT_SESSION_TIMER;
    setHeader(invite, 'Supported', 'timer, 100rel');
    if (header(invite, 'session-expires') === undefined) {
      addHeader(invite, 'Session-Expires', String(policy.sessionExpiresS));
      addHeader(invite, 'Min-SE', String(policy.minSeS));
    }
    this.sm = new StateMachine(`outgoing call ${this.sipCallId}`, TABLE, 'calling', ua.clock, (s) => {
      if (s === 'terminated') {
        this.answerTimer?.cancel();
        this.session?.stop();
        this.dialog?.terminate();
        this.ua.release(this.sipCallId, 'outgoing');
      }
    });
  }

  /** Where the INVITE (and its CANCEL, §9.1) goes: its Request-URI now, which trunk failover and auth may have rewritten. */
  private get destination(): Destination {
    return uriDestination(this.invite.uri);
  }

  get sipCallId(): string {
    return header(this.invite, 'call-id') ?? '';
  }

  get state(): OutgoingCallState {
    return this.sm.state;
  }

  /** Sends the INVITE (called by the user agent; again after a 422 without a new answer timer). */
  start(armAnswerTimer = true): void {
    this.inviteTx = this.ua.sendRequest(this.invite, this.destination, {
      onResponse: (res) => this.onInviteResponse(res),
      onTimeout: () => this.fail(408, 'no response to INVITE (Timer B)'),
    });
    if (!armAnswerTimer) return;
    this.answerTimer = this.ua.clock.setTimeout(() => {
      this.failOverride = { status: 408, reason: `no answer within ${this.answerTimeoutMs} ms` };
      this.cancel();
    }, this.answerTimeoutMs);
  }

  /** The dialog's in-call features, once answered (undefined before and after). */
  get dialogSession(): DialogSession | undefined {
    return this.session;
  }

  /** Handles INFO received in the dialog (RFC 6086); applies to the dialog once it exists. */
  onInfo(handler: InfoHandler): void {
    this.infoHandler = handler;
    if (this.session) this.session.infoHandler = handler;
  }

  /** Answers the peer's re-INVITE/UPDATE offers (hold, resume, codec change). */
  onOffer(handler: OfferHandler): void {
    this.offerHandler = handler;
    if (this.session) this.session.offerHandler = handler;
  }

  /** INFO in the dialog; rejects with a TonewallError before the answer or after the end. */
  sendInfo(contentType: string, body: Buffer, infoPackage?: string): Promise<number> {
    if (!this.session || this.sm.state !== 'established') {
      return Promise.reject(new TonewallError('ESIPDIALOG', `call ${this.sipCallId} is ${this.sm.state}: INFO needs an established dialog`));
    }
    return this.session.sendInfo(contentType, body, infoPackage);
  }

  /** re-INVITE or UPDATE with a new offer (hold/resume/codec change). */
  modify(method: 'INVITE' | 'UPDATE', sdp: string | undefined): Promise<ModifyResult> {
    if (!this.session || this.sm.state !== 'established') {
      return Promise.reject(new TonewallError('ESIPDIALOG', `call ${this.sipCallId} is ${this.sm.state}: ${method} needs an established dialog`));
    }
    return this.session.modify(method, sdp);
  }

  /** INFO, re-INVITE, UPDATE in our dialog (the user agent matched it): false when not handled. */
  dialogRequest(req: SipRequest, tx: ServerTransaction): boolean {
    if (!this.session || (this.sm.state !== 'established' && this.sm.state !== 'terminating')) return false;
    return this.session.handleRequest(req, tx);
  }

  /** An ACK in our dialog (for a 2xx we sent to the peer's re-INVITE). */
  ackReceived(ack: SipRequest): void {
    this.session?.ackReceived(ack);
  }

  cancel(reason?: Q850Reason): void {
    const s = this.sm.state;
    if (s !== 'calling' && s !== 'proceeding') return;
    this.cancelReason = reason;
    this.sm.to('cancelling');
    if (this.gotProvisional) this.sendCancel();
    else this.cancelPending = true;
  }

  hangup(reason?: Q850Reason): Promise<void> {
    const s = this.sm.state;
    if (s === 'calling' || s === 'proceeding') {
      this.cancel(reason);
      return Promise.resolve();
    }
    if (s !== 'established') return this.hangupDone ?? Promise.resolve();
    this.hangupDone = this.sendBye('local', 'hangup', true, reason);
    return this.hangupDone;
  }

  /** An in-dialog BYE from the peer (already answered 200 by the user agent). */
  remoteBye(bye?: SipRequest): void {
    if (this.sm.state !== 'established' && this.sm.state !== 'terminating') return;
    const wasEstablished = this.sm.state === 'established';
    this.sm.to('terminated');
    const q850 = bye ? readQ850Reason(bye)?.cause : undefined;
    if (wasEstablished) this.emit('ended', 'remote', 'BYE', ...(q850 !== undefined ? [q850] : []));
  }

  /** Does an in-dialog request from the peer belong to this call? */
  matches(req: SipRequest): boolean {
    return this.dialog?.matchesRequest(req) ?? false;
  }

  /** A 2xx retransmission that arrived after the INVITE transaction ended: ACK it again. */
  strayResponse(res: SipResponse): void {
    if (this.session?.strayResponse(res)) return;
    if (res.status >= 200 && res.status < 300 && cseq(res).method === 'INVITE' && cseq(res).seq === cseq(this.invite).seq && this.ack && this.dialog) {
      this.ua.sendAck(this.ack, this.dialog.destination());
    }
  }

  /** Stop the call as the user agent stops: CANCEL or BYE, then forget it. */
  async shutdown(): Promise<void> {
    if (this.sm.state === 'established') await this.hangup();
    else if (this.sm.state === 'terminating') await this.hangupDone; // our BYE is in flight: let its final response in
    else if (this.sm.state === 'calling' || this.sm.state === 'proceeding') this.cancel();
  }

  /** The user agent is closing and stopped waiting: end the call here without more signalling. */
  abandon(): void {
    const s = this.sm.state;
    if (s === 'terminated') return;
    this.sm.to('terminated');
    if (s === 'established' || s === 'terminating') this.emit('ended', 'local', 'shutdown');
    else this.emit('failed', 487, 'user agent stopped');
  }

  private onInviteResponse(res: SipResponse): void {
    if (res.status < 200) {
      this.onProvisional(res);
      return;
    }
    if (res.status < 300) {
      this.on2xx(res);
      return;
    }
    if (res.status === 422 && !this.retried422 && this.sm.state !== 'cancelling' && this.sm.state !== 'terminated') {
      this.retry422(res);
      return;
    }
    const o = this.failOverride;
    this.fail(o ? o.status : res.status, o ? o.reason : res.reason, readQ850Reason(res)?.cause);
  }

  private onProvisional(res: SipResponse): void {
    this.gotProvisional = true;
    if (this.sm.state === 'calling') this.sm.to('proceeding');
    if (this.cancelPending) {
      this.cancelPending = false;
      this.sendCancel();
    }
    if (res.status === 100) return;
    const rseq = reliableRSeq(res);
    if (rseq !== undefined) {
      // §4: only the next RSeq in order (any first one) is acknowledged; the rest are discarded.
      if (this.lastRSeq !== undefined && rseq !== this.lastRSeq + 1) return;
      this.lastRSeq = rseq;
      this.sendPrack(res, rseq);
    }
    this.emit('progress', res.status, res.reason);
    if (res.body.length > 0 && !this.earlyMediaSent && /application\/sdp/i.test(header(res, 'content-type') ?? '')) {
      this.earlyMediaSent = true;
      this.emit('early-media', res.body.toString('utf8'));
    }
  }

  private sendPrack(res: SipResponse, rseq: number): void {
    if (this.sm.state === 'cancelling' || this.sm.state === 'terminated') return;
    this.lastPrackSeq = Math.max(this.lastPrackSeq, cseq(this.invite).seq) + 1;
    const prack = buildPrack(this.invite, res, this.lastPrackSeq, rseq, this.ua.userAgent);
    const contact = header(res, 'contact');
    const firstRoute = headerValues(prack, 'route')[0];
    const dest = firstRoute !== undefined ? uriDestination(parseRouteUri(firstRoute)) : contact !== undefined ? uriDestination(prack.uri) : this.destination;
    this.ua.sendRequest(prack, dest, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  /** RFC 4028 §7.1: the peer wants a longer interval; ask again once with a new CSeq. */
  private retry422(res: SipResponse): void {
    this.retried422 = true;
    const policy = this.ua.sessionTimer ?? DEFAULT_SESSION_TIMER;
    const prev = Number(/^\s*([0-9]+)/.exec(header(this.invite, 'session-expires') ?? '')?.[1] ?? policy.sessionExpiresS);
    const intervalS = intervalAfter422(policy, header(res, 'min-se'), prev);
    const next: SipRequest = { ...this.invite, headers: this.invite.headers.filter((h) => h.name !== 'via').map((h) => ({ ...h })), body: this.invite.body };
    setHeader(next, 'CSeq', `${cseq(this.invite).seq + 1} INVITE`);
    setHeader(next, 'Session-Expires', String(intervalS));
    setHeader(next, 'Min-SE', String(intervalS));
    removeHeader(next, 'via');
    this.invite = next;
    this.start(false);
  }

  private on2xx(res: SipResponse): void {
    if (this.sm.state === 'established' || this.sm.state === 'terminating' || this.sm.state === 'terminated') {
      this.strayResponse(res);
      return;
    }
    try {
      this.dialog = Dialog.fromUac(this.invite, res, this.ua.clock, this.lastPrackSeq);
    } catch (err) {
      this.ua.log.warn('2xx to INVITE cannot create a dialog', { callId: this.sipCallId, error: errorMessage(err) });
      this.fail(502, `bad 2xx: ${errorMessage(err)}`);
      return;
    }
    this.answerTimer?.cancel();
    this.ack = this.dialog.createRequest('ACK', cseq(this.invite).seq);
    this.ua.sendAck(this.ack, this.dialog.destination());
    if (this.sm.state === 'cancelling') {
      // §9.1: the 2xx crossed our CANCEL; end the call with a BYE and report the cancellation.
      const o = this.failOverride ?? { status: 487, reason: 'cancelled (answered late, BYE sent)' };
      void this.sendBye('local', 'cancelled', false).then(() => this.emit('failed', o.status, o.reason));
      return;
    }
    this.sm.to('established');
    this.session = this.newSession(this.dialog, res);
    const sdp = res.body.toString('utf8');
    this.emit('answered', sdp);
  }

  private newSession(dialog: Dialog, res: SipResponse): DialogSession {
    let timer: ActiveSessionTimer | undefined;
    try {
      timer = uacTimerFromResponse(header(res, 'session-expires'));
    } catch (err) {
      this.ua.log.warn('2xx Session-Expires ignored', { callId: this.sipCallId, error: errorMessage(err) });
    }
    const session = new DialogSession(this.ua, dialog, {
      role: 'uac',
      localSdp: this.invite.body.toString('utf8'),
      peerAllows: headerValues(res, 'allow').map((m) => m.toUpperCase()),
      timerPolicy: this.ua.sessionTimer ?? DEFAULT_SESSION_TIMER,
      timer,
    });
    session.infoHandler = this.infoHandler;
    session.offerHandler = this.offerHandler;
    session.on('remote-offer', (offer, answer) => this.emit('remote-offer', offer, answer));
    session.on('expired', () => void this.hangup({ cause: 102, text: 'session timer expired' }));
    session.on('dialog-failed', (status) => {
      if (this.sm.state !== 'established') return;
      this.sm.to('terminated');
      this.emit('ended', 'remote', `dialog gone (${status} to an in-dialog request)`);
    });
    return session;
  }

  private sendCancel(): void {
    const cancel = newRequest('CANCEL', this.invite.uri);
    const via = header(this.invite, 'via');
    if (via !== undefined) addHeader(cancel, 'Via', via);
    for (const name of ['route', 'max-forwards', 'from', 'to', 'call-id']) {
      const v = header(this.invite, name);
      if (v !== undefined) addHeader(cancel, name, v);
    }
    addHeader(cancel, 'CSeq', `${cseq(this.invite).seq} CANCEL`);
    addHeader(cancel, 'User-Agent', this.ua.userAgent);
    if (this.cancelReason) addHeader(cancel, 'Reason', formatQ850Reason(this.cancelReason));
    // The CANCEL keeps the INVITE's Via (same branch): send it through the layer directly.
    this.ua.layer.sendRequest(cancel, this.destination, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  private sendBye(by: 'local' | 'remote', reason: string, emitEnded = true, q850?: Q850Reason): Promise<void> {
    const dialog = this.dialog;
    if (!dialog) return Promise.resolve();
    this.sm.to('terminating');
    this.session?.stop();
    const bye = dialog.createRequest('BYE');
    addHeader(bye, 'User-Agent', this.ua.userAgent);
    const why = q850 ?? this.cancelReason;
    if (why) addHeader(bye, 'Reason', formatQ850Reason(why));
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (this.sm.state !== 'terminated') this.sm.to('terminated');
        if (emitEnded) this.emit('ended', by, reason);
        resolve();
      };
      this.ua.sendRequest(bye, dialog.destination(), {
        onResponse: (res) => {
          if (res.status >= 200) done();
        },
        onTimeout: done,
      });
    });
  }

  private fail(status: number, reason: string, q850?: number): void {
    if (this.sm.state === 'terminated') return;
    this.inviteTx = undefined;
    this.sm.to('terminated');
    this.emit('failed', status, reason, ...(q850 !== undefined ? [q850] : []));
  }
}

/** The URI of a Route value (`<sip:…;lr>`). */
function parseRouteUri(route: string): string {
  return /<([^>]+)>/.exec(route)?.[1] ?? route.trim();
}
