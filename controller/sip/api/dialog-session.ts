/**
 * What happens inside a confirmed INVITE dialog besides BYE: INFO (RFC 6086), re-INVITE (RFC 3261
 * §14) and UPDATE (RFC 3311) in both directions with one offer/answer state machine
 * (core/dialogs/offer-answer.ts), and session timers (RFC 4028, core/dialogs/session-timer.ts).
 * OutgoingCall and IncomingCall own one each once their dialog is confirmed; BYE stays with them.
 *
 * - INFO received: the handler's reply (its status, body); without a handler an INFO naming an
 *   Info-Package is answered 469 (RFC 6086 §4.2.2), one with a body 415 with an empty Accept, an
 *   empty one 200. A handler that throws gives 500.
 * - re-INVITE/UPDATE received: CSeq order (§12.2.2, 500), glare (491 / 500 + Retry-After), session
 *   timer (422), the offer answered by the offer handler (488 when there is none or it throws). A
 *   re-INVITE without SDP gets our current SDP as the offer in the 2xx (§14.2). The 2xx of a
 *   re-INVITE is retransmitted T1 doubling to T2 until its ACK (§13.3.1.4).
 * - re-INVITE/UPDATE sent: 2xx → ACK (re-INVITE) and the new timer; 491 → one retry after the
 *   §14.1 wait; 422 → retry with the peer's Min-SE; 408/481 → the dialog is gone (RFC 5057 §5.1):
 *   'dialog-failed', the call ends.
 * - Session timer: the refresher refreshes at SE/2 (UPDATE when the peer allows it, else re-INVITE
 *   with our current SDP); the other side emits 'expired' at SE − min(32, SE/3) (§10).
 */
import { randomInt } from 'node:crypto';
import type { TimerHandle } from '../../../hw/base/clock';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { Dialog } from '../core/dialogs/dialog';
import { OfferAnswer, glareRetryMs, remoteRequestDecision } from '../core/dialogs/offer-answer';
import {
  expiryDelayMs, formatSessionExpires, intervalAfter422, refreshDelayMs, uacTimerFromResponse, uasTimerDecision,
  type ActiveSessionTimer, type SessionTimerPolicy,
} from '../core/dialogs/session-timer';
import { buildResponse } from '../core/messages/build';
import { addHeader, cseq, header, headerValues, type HeaderField, type SipRequest, type SipResponse } from '../core/messages/message';
import type { ServerTransaction } from '../core/transaction-layer';
import { DIALOG_METHODS, type UaContext } from './ua-context';

export interface InfoMessage {
  contentType: string;
  body: Buffer;
  /** The Info-Package header (RFC 6086 §7.2), when the sender named one. */
  infoPackage: string | undefined;
}

export interface InfoAnswer {
  status: number;
  reason?: string;
  contentType?: string;
  body?: Buffer;
}

export type InfoHandler = (info: InfoMessage) => InfoAnswer | Promise<InfoAnswer>;
/** Answers a peer's offer in a re-INVITE/UPDATE: returns our SDP answer; throwing rejects it 488. */
export type OfferHandler = (sdpOffer: string) => string;

export interface ModifyResult {
  status: number;
  /** The SDP the peer answered with (2xx with a body). */
  sdpAnswer: string | undefined;
}

export interface DialogSessionEvents {
  /** The peer's offer was answered (hold/resume/codec change took effect). */
  'remote-offer': [sdpOffer: string, sdpAnswer: string];
  /** No refresh came in time (RFC 4028 §10): the owner sends BYE. */
  expired: [];
  /** A request in the dialog got 408/481 (RFC 5057): the dialog is gone, the owner ends the call. */
  'dialog-failed': [status: number];
}

export interface DialogSessionOptions {
  /** Our role in the INVITE that made the dialog: the UAC owns the Call-ID (§14.1). */
  role: 'uac' | 'uas';
  /** The SDP we last sent (offer or answer): resent in refreshes and offers without a change. */
  localSdp: string;
  /** Methods the peer listed in Allow (upper case). */
  peerAllows: readonly string[];
  timerPolicy: SessionTimerPolicy;
  /** The timer the initial INVITE's 2xx put in force. */
  timer: ActiveSessionTimer | undefined;
}

export class DialogSession extends TypedEmitter<DialogSessionEvents> {
  infoHandler: InfoHandler | undefined;
  offerHandler: OfferHandler | undefined;
  private readonly oa: OfferAnswer;
  private localSdp: string;
  private timer: ActiveSessionTimer | undefined;
  private timerHandle: TimerHandle | undefined;
  /** A re-INVITE we answered 2xx and whose ACK has not come: CSeq, 2xx, retransmit timer. */
  private pendingAck: { seq: number; ok: SipResponse; tx: ServerTransaction; timer: TimerHandle | undefined } | undefined;
  /** ACKs we sent for our re-INVITEs' 2xx, by CSeq, to answer 2xx retransmissions (§13.2.2.4). */
  private readonly acks = new Map<number, SipRequest>();
  private stopped = false;

  constructor(
    private readonly ua: UaContext,
    readonly dialog: Dialog,
    private readonly opts: DialogSessionOptions,
  ) {
    super();
    this.oa = new OfferAnswer(dialog.callId, ua.clock);
    this.localSdp = opts.localSdp;
    this.setTimer(opts.timer);
  }

  get sessionTimer(): ActiveSessionTimer | undefined {
    return this.timer;
  }

  get offerState(): string {
    return this.oa.state;
  }

  /** Handles INFO, re-INVITE and UPDATE in the dialog; returns false for other methods. */
  handleRequest(req: SipRequest, tx: ServerTransaction): boolean {
    if (req.method !== 'INFO' && req.method !== 'INVITE' && req.method !== 'UPDATE') return false;
    if (!this.dialog.acceptRemoteSeq(req)) {
      this.respond(tx, req, 500, 'CSeq Out Of Order');
      return true;
    }
    if (req.method === 'INFO') void this.onInfo(req, tx);
    else this.onModify(req, tx);
    return true;
  }

  /** An ACK in this dialog: true when it acknowledged a re-INVITE's 2xx. */
  ackReceived(ack: SipRequest): boolean {
    const p = this.pendingAck;
    if (!p || cseq(ack).seq !== p.seq) return false;
    p.timer?.cancel();
    this.pendingAck = undefined;
    this.oa.settle();
    return true;
  }

  /** A 2xx retransmission for one of our re-INVITEs: ACK it again. True when it was one. */
  strayResponse(res: SipResponse): boolean {
    const ack = this.acks.get(cseq(res).seq);
    if (!ack || res.status < 200 || res.status >= 300) return false;
    this.ua.sendAck(ack, this.dialog.destination());
    return true;
  }

  /** Sends INFO (RFC 6086 §4.2.1); resolves with the final status (408 on timeout). */
  sendInfo(contentType: string, body: Buffer, infoPackage?: string): Promise<number> {
    if (this.stopped) return Promise.reject(new TonewallError('ESIPDIALOG', `dialog ${this.dialog.callId} is over: no INFO can be sent`));
    const req = this.dialog.createRequest('INFO');
    addHeader(req, 'User-Agent', this.ua.userAgent);
    if (infoPackage !== undefined) addHeader(req, 'Info-Package', infoPackage);
    addHeader(req, 'Content-Type', contentType);
    req.body = body;
    return this.request(req).then((res) => this.failed(res).status);
  }

  /**
   * Sends a re-INVITE (or UPDATE) with `sdp` as the offer (undefined: UPDATE without a body, a
   * pure session refresh). Resolves with the final status; rejects when an offer is already in
   * progress.
   */
  modify(method: 'INVITE' | 'UPDATE', sdp: string | undefined): Promise<ModifyResult> {
    if (this.stopped) return Promise.reject(new TonewallError('ESIPDIALOG', `dialog ${this.dialog.callId} is over: no ${method} can be sent`));
    if (this.oa.state !== 'stable' || this.pendingAck) {
      return Promise.reject(new TonewallError('ESIPGLARE', `dialog ${this.dialog.callId}: offer/answer state ${this.oa.state}, expected stable before sending ${method}`));
    }
    return this.modifyAttempt(method, sdp, this.timer?.intervalS ?? this.opts.timerPolicy.sessionExpiresS, 0);
  }

  /** The call is over: timers off, nothing more is sent. */
  stop(): void {
    this.stopped = true;
    this.timerHandle?.cancel();
    this.pendingAck?.timer?.cancel();
    this.pendingAck = undefined;
  }

  private async modifyAttempt(method: 'INVITE' | 'UPDATE', sdp: string | undefined, intervalS: number, attempt: number): Promise<ModifyResult> {
    const req = this.dialog.createRequest(method);
    addHeader(req, 'Contact', `<${this.dialog.localUri}>`);
    addHeader(req, 'User-Agent', this.ua.userAgent);
    addHeader(req, 'Allow', DIALOG_METHODS);
    addHeader(req, 'Supported', 'timer');
    if (this.timer) {
      addHeader(req, 'Session-Expires', formatSessionExpires({ intervalS, refresher: 'uac' }));
      addHeader(req, 'Min-SE', String(this.opts.timerPolicy.minSeS));
    }
    if (sdp !== undefined) {
      addHeader(req, 'Content-Type', 'application/sdp');
      req.body = Buffer.from(sdp, 'utf8');
      this.oa.localOffer();
    }
    const res = await this.request(req);
    if (sdp !== undefined) this.oa.settle();
    if (res.status >= 200 && res.status < 300) {
      if (method === 'INVITE') {
        const ack = this.dialog.createRequest('ACK', cseq(req).seq);
        this.acks.set(cseq(req).seq, ack);
        this.ua.sendAck(ack, this.dialog.destination());
      }
      this.dialog.refreshTarget(res);
      if (sdp !== undefined) this.localSdp = sdp;
      this.refreshed(uacTimerFromResponse(header(res, 'session-expires')));
      return { status: res.status, sdpAnswer: res.body.length > 0 ? res.body.toString('utf8') : undefined };
    }
    if (this.stopped || attempt >= 1) return this.failed(res);
    if (res.status === 491) {
      // §14.1: wait, then try once more (unless something else changed the session meanwhile).
      await new Promise<void>((resolve) => this.ua.clock.setTimeout(resolve, glareRetryMs(this.opts.role === 'uac', randomInt(0, 1_000_000) / 1_000_000)));
      if (this.stopped || this.oa.state !== 'stable') return this.failed(res);
      return this.modifyAttempt(method, sdp, intervalS, attempt + 1);
    }
    if (res.status === 422 && this.timer) return this.modifyAttempt(method, sdp, intervalAfter422(this.opts.timerPolicy, header(res, 'min-se'), intervalS), attempt + 1);
    return this.failed(res);
  }

  /** RFC 5057 §5.1: 408/481 to a request in the dialog end it. */
  private failed(res: SipResponse): ModifyResult {
    if ((res.status === 408 || res.status === 481) && !this.stopped) this.emit('dialog-failed', res.status);
    return { status: res.status, sdpAnswer: undefined };
  }

  /** One in-dialog request in a client transaction; a timeout resolves as a 408. */
  private request(req: SipRequest): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve) => {
      this.ua.sendRequest(req, this.dialog.destination(), {
        onResponse: (res) => {
          if (res.status >= 200) resolve(res);
        },
        onTimeout: () => resolve({ kind: 'response', status: 408, reason: 'Request Timeout', headers: [], body: Buffer.alloc(0) }),
      });
    });
  }

  private async onInfo(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const contentType = header(req, 'content-type') ?? '';
    const infoPackage = header(req, 'info-package');
    const handler = this.infoHandler;
    if (!handler) {
      if (infoPackage !== undefined) this.respond(tx, req, 469, 'Bad Info Package', [{ name: 'recv-info', value: '' }]);
      else if (req.body.length > 0) this.respond(tx, req, 415, undefined, [{ name: 'accept', value: '' }]);
      else this.respond(tx, req, 200);
      return;
    }
    let answer: InfoAnswer;
    try {
      answer = await handler({ contentType, body: req.body, infoPackage });
    } catch (err) {
      this.ua.log.warn('INFO handler failed', { callId: this.dialog.callId, error: errorMessage(err) });
      answer = { status: 500 };
    }
    const status = Number.isInteger(answer.status) && answer.status >= 200 && answer.status <= 699 ? answer.status : 500;
    const extra: HeaderField[] = answer.body && answer.body.length > 0 ? [{ name: 'content-type', value: answer.contentType ?? 'application/octet-stream' }] : [];
    this.respond(tx, req, status, answer.reason, extra, answer.body);
  }

  private onModify(req: SipRequest, tx: ServerTransaction): void {
    const decision = remoteRequestDecision(this.oa.state, this.pendingAck !== undefined);
    if (decision.kind === 'reject') {
      this.respond(tx, req, decision.status, undefined, decision.status === 500 ? [{ name: 'retry-after', value: String(decision.retryAfterS) }] : []);
      return;
    }
    const supportsTimer = [...headerValues(req, 'supported'), ...headerValues(req, 'require')].some((v) => v.toLowerCase() === 'timer');
    let timerDecision: ReturnType<typeof uasTimerDecision> | undefined;
    const se = header(req, 'session-expires');
    if (this.timer || se !== undefined) {
      try {
        timerDecision = uasTimerDecision({ sessionExpires: se, minSe: header(req, 'min-se'), supportsTimer }, this.opts.timerPolicy);
      } catch (err) {
        this.respond(tx, req, 400, 'Bad Session-Expires', [{ name: 'warning', value: `399 tonewall "${errorMessage(err).replace(/"/g, "'")}"` }]);
        return;
      }
      if (timerDecision.kind === 'reject-422') {
        this.respond(tx, req, 422, undefined, [{ name: 'min-se', value: String(timerDecision.minSeS) }]);
        return;
      }
    }
    const offer = req.body.length > 0 ? req.body.toString('utf8') : undefined;
    let answer = this.localSdp;
    if (offer !== undefined) {
      const handler = this.offerHandler;
      try {
        if (!handler) throw new TonewallError('ESDP', 'no offer handler on this call');
        answer = handler(offer);
      } catch (err) {
        this.respond(tx, req, 488, undefined, [{ name: 'warning', value: `305 tonewall "${errorMessage(err).replace(/"/g, "'")}"` }]);
        return;
      }
      this.localSdp = answer;
    }
    this.dialog.refreshTarget(req);
    const extra: HeaderField[] = [
      { name: 'contact', value: `<${this.dialog.localUri}>` },
      { name: 'content-type', value: 'application/sdp' },
    ];
    if (timerDecision?.kind === 'timer') {
      extra.push({ name: 'session-expires', value: formatSessionExpires(timerDecision.sessionExpires) });
      if (timerDecision.require) extra.push({ name: 'require', value: 'timer' });
    }
    const ok = this.respond(tx, req, 200, undefined, extra, Buffer.from(answer, 'utf8'));
    if (req.method === 'INVITE') {
      // Until the ACK (which carries the answer when the offer was in our 2xx) no new offer is taken.
      this.oa.remoteOffer();
      this.pendingAck = { seq: cseq(req).seq, ok, tx, timer: undefined };
      this.retransmit2xx(this.ua.timers.t1Ms, 0);
    }
    this.refreshed(timerDecision?.kind === 'timer' ? timerDecision.active : undefined);
    if (offer !== undefined) this.emit('remote-offer', offer, answer);
  }

  private retransmit2xx(intervalMs: number, elapsedMs: number): void {
    const p = this.pendingAck;
    if (!p) return;
    const limitMs = 64 * this.ua.timers.t1Ms;
    const waitMs = Math.min(intervalMs, limitMs - elapsedMs);
    p.timer = this.ua.clock.setTimeout(() => {
      if (this.pendingAck !== p) return;
      if (elapsedMs + waitMs >= limitMs) {
        // §14.2: a re-INVITE 2xx never ACKed ends the dialog (like the initial one, §13.3.1.4).
        this.pendingAck = undefined;
        this.oa.settle();
        this.emit('dialog-failed', 408);
        return;
      }
      p.tx.respond(p.ok);
      this.retransmit2xx(Math.min(2 * intervalMs, this.ua.timers.t2Ms), elapsedMs + waitMs);
    }, waitMs);
  }

  /** A successful refresh (either direction): the new timer, or the old one restarted. */
  private refreshed(timer: ActiveSessionTimer | undefined): void {
    this.setTimer(timer ?? this.timer);
  }

  private setTimer(timer: ActiveSessionTimer | undefined): void {
    this.timerHandle?.cancel();
    this.timerHandle = undefined;
    this.timer = timer;
    if (!timer || this.stopped) return;
    if (timer.refresher === 'local') {
      this.timerHandle = this.ua.clock.setTimeout(() => void this.refresh(), refreshDelayMs(timer));
    } else {
      this.timerHandle = this.ua.clock.setTimeout(() => {
        this.ua.log.warn('session timer expired without a refresh (RFC 4028 §10): ending the call', { callId: this.dialog.callId, intervalS: timer.intervalS });
        this.emit('expired');
      }, expiryDelayMs(timer));
    }
  }

  /** Sends the refresh we owe (§7.4): UPDATE without SDP when the peer allows UPDATE, else re-INVITE. */
  private async refresh(): Promise<void> {
    if (this.stopped) return;
    if (this.oa.state !== 'stable' || this.pendingAck) {
      // An offer exchange is in progress and will refresh the session; look again shortly.
      this.timerHandle = this.ua.clock.setTimeout(() => void this.refresh(), this.ua.timers.t1Ms);
      return;
    }
    const useUpdate = this.opts.peerAllows.includes('UPDATE');
    const result = await this.modify(useUpdate ? 'UPDATE' : 'INVITE', useUpdate ? undefined : this.localSdp).catch((err: unknown) => {
      this.ua.log.warn('session refresh not sent', { callId: this.dialog.callId, error: errorMessage(err) });
      return undefined;
    });
    if (result && (result.status < 200 || result.status >= 300) && result.status !== 408 && result.status !== 481) {
      // §10: a failed refresh leaves the session to expire; keep the expiry clock running.
      const t = this.timer;
      if (t) {
        this.timerHandle?.cancel();
        this.timerHandle = this.ua.clock.setTimeout(() => this.emit('expired'), expiryDelayMs(t) - refreshDelayMs(t));
      }
    }
  }

  private respond(tx: ServerTransaction, req: SipRequest, status: number, reason?: string, headers: HeaderField[] = [], body?: Buffer): SipResponse {
    const res = buildResponse(req, status, reason, body ? { body } : {});
    addHeader(res, 'User-Agent', this.ua.userAgent);
    if (status === 405 || (status >= 200 && status < 300)) addHeader(res, 'Allow', DIALOG_METHODS);
    for (const h of headers) res.headers.push(h);
    tx.respond(res);
    return res;
  }
}
