/**
 * An incoming call (UAS INVITE, RFC 3261 §13.3) as the call manager and the demo endpoint see it.
 *
 *   offered --ring()--> ringing --answer()--> answered --ACK--> confirmed --hangup()/BYE--> terminated
 *      |                   |                     |  \--no ACK in 64*T1--> BYE --> terminated
 *      +---reject()/CANCEL/hangup()--------------+--> terminated
 *
 * - The 100 Trying is sent by the transaction layer on arrival.
 * - The INVITE server transaction stays in Accepted after the 2xx (RFC 6026), so a retransmitted
 *   INVITE never becomes a second call.
 * - answer(): 200 with our Contact and the SDP answer; the 2xx is retransmitted at T1 doubling to
 *   T2 until the ACK arrives, and the call is ended with a BYE after 64*T1 without one (§13.3.1.4).
 * - CANCEL (§9.2): the user agent answers it 200 and this call answers the INVITE 487.
 * - precheck() before the call is offered: `Require` with an option we lack → 420 with Unsupported
 *   (§8.2.2.3); a Session-Expires below our minimum → 422 with Min-SE (RFC 4028 §9).
 * - progress(sdp) sends 183 with SDP (early media); ring() 180. When the INVITE requires 100rel
 *   they go reliably and wait for PRACK (RFC 3262, prack.ts).
 * - The 2xx carries the session timer the INVITE asked for (RFC 4028 §9). Reason (RFC 3326) on our
 *   BYE and rejections; read from the peer's BYE and CANCEL.
 * - UPDATE in the early dialog (RFC 3311 §5.2): without a body, 200 (target refresh); with an SDP
 *   offer, answered through the offer handler once the INVITE's own offer/answer is complete (our
 *   answer went in a reliable 18x that was PRACKed), else 500 with Retry-After; 488 when the offer
 *   cannot be answered. The 2xx to the INVITE then repeats the latest answer.
 * - Once answered, INFO, re-INVITE/UPDATE and the session timer run in a DialogSession.
 */
import { randomInt } from 'node:crypto';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { buildResponse, newTag } from '../core/messages/build';
import { addHeader, cseq, header, headerValues, type HeaderField, type SipRequest, type SipResponse, topVia } from '../core/messages/message';
import { parseNameAddr } from '../core/messages/name-addr';
import { Dialog } from '../core/dialogs/dialog';
import { DEFAULT_SESSION_TIMER, formatSessionExpires, uasTimerDecision, type UasTimerDecision } from '../core/dialogs/session-timer';
import type { ServerTransaction } from '../core/transaction-layer';
import type { InviteServerTransaction } from '../core/transactions/invite-server';
import { StateMachine, type TransitionTable } from '../core/transactions/state-machine';
import { DialogSession, type InfoHandler, type ModifyResult, type OfferHandler } from './dialog-session';
import { ReliableProvisionals, requires100rel } from './prack';
import { formatQ850Reason, readQ850Reason, type Q850Reason } from './reason-header';
import { DIALOG_METHODS, type UaContext } from './ua-context';

/** Option tags we implement (Require/Supported, §8.2.2.3). */
const SUPPORTED_OPTIONS = ['timer', '100rel'];

export interface IncomingCallEvents {
  ended: [by: 'remote' | 'local', reason: string, q850?: number];
  /** The peer changed the session (re-INVITE/UPDATE offer answered). */
  'remote-offer': [sdpOffer: string, sdpAnswer: string];
}

export type IncomingCallState = 'offered' | 'ringing' | 'answered' | 'confirmed' | 'terminating' | 'terminated';

const TABLE: TransitionTable<IncomingCallState> = {
  offered: ['ringing', 'answered', 'terminated'],
  ringing: ['answered', 'terminated'],
  answered: ['confirmed', 'terminating', 'terminated'],
  confirmed: ['terminating', 'terminated'],
  terminating: ['terminated'],
  terminated: [],
};

export class IncomingCall extends TypedEmitter<IncomingCallEvents> {
  private readonly sm: StateMachine<IncomingCallState>;
  private readonly localTag = newTag();
  private dialog: Dialog | undefined;
  private okResponse: SipResponse | undefined;
  private hangupDone: Promise<void> | undefined;
  private session: DialogSession | undefined;
  private infoHandler: InfoHandler | undefined;
  private offerHandler: OfferHandler | undefined;
  private timerDecision: UasTimerDecision | undefined;
  private readonly reliable: ReliableProvisionals | undefined;
  /** Our answer to the INVITE's offer went in a reliable 18x (RFC 3262 offer/answer). */
  private earlyAnswerSent = false;
  /** The answer of an early UPDATE; the 2xx to the INVITE must not contradict it. */
  private earlyLocalSdp: string | undefined;

  constructor(
    private readonly ua: UaContext,
    readonly request: SipRequest,
    private readonly tx: InviteServerTransaction,
  ) {
    super();
    this.sm = new StateMachine(`incoming call ${this.sipCallId}`, TABLE, 'offered', ua.clock, (s) => {
      if (s === 'terminated') {
        this.reliable?.stop();
        this.session?.stop();
        this.dialog?.terminate();
        this.ua.release(this.sipCallId, 'incoming');
      }
    });
    this.reliable = requires100rel(request)
      ? new ReliableProvisionals(ua, tx, cseq(request).seq, () => {
          // RFC 3262 §3: no PRACK in 64*T1 → the INVITE fails.
          if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
          this.reject(504, 'No PRACK');
          this.emit('ended', 'local', 'no PRACK for a reliable provisional response');
        })
      : undefined;
  }

  /**
   * Checks the INVITE before it is offered (§8.2.2.3, §8.2.3, RFC 4028 §9); answers 420/415/406/422/400 itself and
   * returns false when it cannot go on.
   */
  precheck(): boolean {
    const unsupported = headerValues(this.request, 'require').map((o) => o.trim().toLowerCase()).filter((o) => !SUPPORTED_OPTIONS.includes(o));
    if (unsupported.length > 0) {
      this.reject(420, 'Bad Extension', [{ name: 'unsupported', value: unsupported.join(', ') }]);
      return false;
    }
    // §8.2.3: a body we cannot read → 415 with what we accept (RFC 4475 §3.3.7); an Accept that
    // excludes SDP leaves no way to answer → 406 (§21.4.7; RFC 4475 §3.3.15).
    const contentType = header(this.request, 'content-type');
    if (this.request.body.length > 0 && !/^\s*application\/sdp\s*(;|$)/i.test(contentType ?? 'application/sdp')) {
      this.reject(415, undefined, [{ name: 'accept', value: 'application/sdp' }]);
      return false;
    }
    const accept = headerValues(this.request, 'accept').map((a) => a.split(';')[0]?.trim().toLowerCase() ?? '');
    if (accept.length > 0 && !accept.some((a) => a === 'application/sdp' || a === 'application/*' || a === '*/*')) {
      this.reject(406, undefined, [{ name: 'accept', value: 'application/sdp' }]);
      return false;
    }
    const options = [...headerValues(this.request, 'supported'), ...headerValues(this.request, 'require')].map((o) => o.trim().toLowerCase());
    try {
      this.timerDecision = uasTimerDecision(
        { sessionExpires: header(this.request, 'session-expires'), minSe: header(this.request, 'min-se'), supportsTimer: options.includes('timer') },
        this.ua.sessionTimer ?? DEFAULT_SESSION_TIMER,
      );
    } catch (err) {
      this.reject(400, 'Bad Session-Expires', [{ name: 'warning', value: `399 tonewall "${errorMessage(err).replace(/"/g, "'")}"` }]);
      return false;
    }
    if (this.timerDecision.kind === 'reject-422') {
      this.reject(422, undefined, [{ name: 'min-se', value: String(this.timerDecision.minSeS) }]);
      return false;
    }
    return true;
  }

  /** The dialog's in-call features, once answered. */
  get dialogSession(): DialogSession | undefined {
    return this.session;
  }

  /** Handles INFO received in the dialog (RFC 6086); applies to the dialog once it exists. */
  onInfo(handler: InfoHandler): void {
    this.infoHandler = handler;
    if (this.session) this.session.infoHandler = handler;
  }

  /** Answers the peer's re-INVITE/UPDATE offers. */
  onOffer(handler: OfferHandler): void {
    this.offerHandler = handler;
    if (this.session) this.session.offerHandler = handler;
  }

  sendInfo(contentType: string, body: Buffer, infoPackage?: string): Promise<number> {
    const s = this.sm.state;
    if (!this.session || (s !== 'answered' && s !== 'confirmed')) {
      return Promise.reject(new TonewallError('ESIPDIALOG', `call ${this.sipCallId} is ${s}: INFO needs an established dialog`));
    }
    return this.session.sendInfo(contentType, body, infoPackage);
  }

  modify(method: 'INVITE' | 'UPDATE', sdp: string | undefined): Promise<ModifyResult> {
    if (!this.session || this.sm.state !== 'confirmed') {
      return Promise.reject(new TonewallError('ESIPDIALOG', `call ${this.sipCallId} is ${this.sm.state}: ${method} needs a confirmed dialog`));
    }
    return this.session.modify(method, sdp);
  }

  /** PRACK in the early dialog; INFO, re-INVITE, UPDATE once answered. False when not handled. */
  dialogRequest(req: SipRequest, tx: ServerTransaction): boolean {
    if (req.method === 'PRACK') {
      const ok = this.reliable?.prack(req) ?? false;
      const res = buildResponse(req, ok ? 200 : 481);
      addHeader(res, 'User-Agent', this.ua.userAgent);
      tx.respond(res);
      return true;
    }
    if (req.method === 'UPDATE' && (this.sm.state === 'offered' || this.sm.state === 'ringing')) {
      this.earlyUpdate(req, tx);
      return true;
    }
    if (!this.session || (this.sm.state !== 'answered' && this.sm.state !== 'confirmed')) return false;
    return this.session.handleRequest(req, tx);
  }

  /** RFC 3311 §5.2 UPDATE before the final answer (see the file header). */
  private earlyUpdate(req: SipRequest, tx: ServerTransaction): void {
    const respond = (status: number, reason?: string, headers: HeaderField[] = [], body?: string): void => {
      const res = buildResponse(req, status, reason, body !== undefined ? { body: Buffer.from(body, 'utf8') } : {});
      addHeader(res, 'User-Agent', this.ua.userAgent);
      for (const h of headers) res.headers.push(h);
      tx.respond(res);
    };
    const toTag = parseNameAddr(header(req, 'to') ?? '').params.get('tag');
    if (toTag !== this.localTag) return respond(481, 'Early Dialog Does Not Exist');
    const contact: HeaderField = { name: 'contact', value: `<${this.localContact()}>` };
    if (req.body.length === 0) return respond(200, undefined, [contact]);
    if (!/^application\/sdp\b/i.test(header(req, 'content-type') ?? '')) {
      return respond(415, undefined, [{ name: 'accept', value: 'application/sdp' }]);
    }
    // §5.2: an offer while the INVITE's offer/answer is still open is refused for a short while.
    if (!this.earlyAnswerSent || !this.reliable?.settled) {
      return respond(500, 'Offer/Answer In Progress', [{ name: 'retry-after', value: String(randomInt(0, 11)) }]);
    }
    if (!this.offerHandler) return respond(488, undefined, [{ name: 'warning', value: '399 tonewall "no media to renegotiate yet"' }]);
    const offer = req.body.toString('utf8');
    let answer: string;
    try {
      answer = this.offerHandler(offer);
    } catch (err) {
      return respond(488, undefined, [{ name: 'warning', value: `399 tonewall "${errorMessage(err).replace(/"/g, "'")}"` }]);
    }
    this.earlyLocalSdp = answer;
    respond(200, undefined, [contact, { name: 'content-type', value: 'application/sdp' }], answer);
    this.emit('remote-offer', offer, answer);
  }

  /** A 2xx retransmission for one of our re-INVITEs. */
  strayResponse(res: SipResponse): void {
    this.session?.strayResponse(res);
  }

  get sipCallId(): string {
    return header(this.request, 'call-id') ?? '';
  }

  get state(): IncomingCallState {
    return this.sm.state;
  }

  get sdpOffer(): string {
    return this.request.body.toString('utf8');
  }

  get requestUri(): string {
    return this.request.uri;
  }

  /** Every header of the INVITE in order (names lower-case long form). */
  get headers(): readonly HeaderField[] {
    return this.request.headers;
  }

  /** The first value of a header of the INVITE (any case, compact forms accepted). */
  header(name: string): string | undefined {
    return header(this.request, name);
  }

  /** The caller's user part and display name from From. */
  get caller(): { uri: string; displayName: string | undefined } {
    const f = parseNameAddr(header(this.request, 'from') ?? '');
    return { uri: f.uri, displayName: f.displayName };
  }

  ring(): void {
    if (this.sm.state !== 'offered') return;
    this.sm.to('ringing');
    this.provisional(this.response(180, undefined, this.earlyHeaders()));
  }

  /** 183 Session Progress with SDP: early media (the answer to the INVITE's offer, RFC 3261 §13.3.1.1). */
  progress(sdpAnswer: string): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    if (this.sm.state === 'offered') this.sm.to('ringing');
    const headers = [...this.earlyHeaders(), { name: 'content-type', value: 'application/sdp' }];
    this.provisional(this.response(183, undefined, headers, Buffer.from(this.earlyLocalSdp ?? sdpAnswer, 'utf8')));
    if (this.reliable) this.earlyAnswerSent = true;
  }

  answer(sdpAnswer: string): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    this.reliable?.stop();
    this.dialog = Dialog.fromUas(this.request, this.localTag, this.ua.clock);
    const headers: HeaderField[] = [{ name: 'contact', value: `<${this.localContact()}>` }];
    const t = this.timerDecision;
    if (t?.kind === 'timer') {
      headers.push({ name: 'session-expires', value: formatSessionExpires(t.sessionExpires) });
      if (t.require) headers.push({ name: 'require', value: 'timer' });
    }
    headers.push({ name: 'supported', value: 'timer' }, { name: 'content-type', value: 'application/sdp' });
    // After an early UPDATE the session is what that exchange agreed (RFC 3311 §5.1, RFC 6337 §3.1).
    if (this.earlyLocalSdp !== undefined) sdpAnswer = this.earlyLocalSdp;
    const ok = this.response(200, undefined, headers, Buffer.from(sdpAnswer, 'utf8'));
    this.okResponse = ok;
    this.sm.to('answered');
    this.session = this.newSession(this.dialog, sdpAnswer);
    this.tx.respond(ok);
    this.retransmit2xx(this.ua.timers.t1Ms, 0);
  }

  /** Final non-2xx answer; `reasonQ850` goes in a Reason header (RFC 3326). */
  reject(status: number, reason?: string, extra: HeaderField[] | Q850Reason = []): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    if (status < 300 || status > 699) status = 500;
    const headers = Array.isArray(extra) ? extra : [{ name: 'reason', value: formatQ850Reason(extra) }];
    this.tx.respond(this.response(status, reason, headers));
    this.sm.to('terminated');
  }

  hangup(reason?: Q850Reason): Promise<void> {
    const s = this.sm.state;
    if (s === 'offered' || s === 'ringing') {
      this.reject(480, undefined, reason ?? []);
      this.emit('ended', 'local', 'rejected before answer');
      return Promise.resolve();
    }
    if (s === 'answered' || s === 'confirmed') {
      this.hangupDone = this.sendBye('local', 'hangup', reason);
      return this.hangupDone;
    }
    return this.hangupDone ?? Promise.resolve();
  }

  /** An ACK in the dialog: for our 2xx (§13.3.1.4: stop retransmitting) or a re-INVITE's. */
  ackReceived(ack?: SipRequest): void {
    if (ack && this.session?.ackReceived(ack)) return;
    if (this.sm.state === 'answered') this.sm.to('confirmed');
  }

  /** CANCEL matched this call's INVITE transaction (§9.2). */
  cancelled(cancel?: SipRequest): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    this.tx.respond(this.response(487));
    this.sm.to('terminated');
    const q850 = cancel ? readQ850Reason(cancel)?.cause : undefined;
    this.emit('ended', 'remote', 'CANCEL', ...(q850 !== undefined ? [q850] : []));
  }

  /** The user agent is closing and stopped waiting: end the call here without more signalling. */
  abandon(): void {
    if (this.sm.state === 'terminated') return;
    this.sm.to('terminated');
    this.emit('ended', 'local', 'shutdown');
  }

  /** In our dialog, confirmed or early (Call-ID, our To tag, their From tag, §12.2.2). */
  matches(req: SipRequest): boolean {
    if (this.dialog) return this.dialog.matchesRequest(req);
    if (header(req, 'call-id') !== this.sipCallId) return false;
    const toTag = parseNameAddr(header(req, 'to') ?? '').params.get('tag');
    const fromTag = parseNameAddr(header(req, 'from') ?? '').params.get('tag');
    return toTag === this.localTag && fromTag === parseNameAddr(header(this.request, 'from') ?? '').params.get('tag');
  }

  /** A BYE in this dialog (already answered 200 by the user agent). */
  remoteBye(bye?: SipRequest): void {
    const s = this.sm.state;
    if (s !== 'answered' && s !== 'confirmed' && s !== 'terminating') return;
    this.sm.to('terminated');
    const q850 = bye ? readQ850Reason(bye)?.cause : undefined;
    if (s !== 'terminating') this.emit('ended', 'remote', 'BYE', ...(q850 !== undefined ? [q850] : []));
  }

  async shutdown(): Promise<void> {
    await this.hangup();
  }

  private localContact(): string {
    const user = /^sips?:([^@;]+)@/.exec(this.request.uri)?.[1] ?? 'tonewall';
    // The transport the INVITE came over (its top Via), so the dialog stays on it.
    const t = topVia(this.request).transport.toUpperCase();
    return this.ua.contactUri(user, t === 'TCP' || t === 'TLS' || t === 'UDP' ? t : undefined);
  }

  /** 18x in an early dialog carry Contact (§12.1.1) and, when reliable, wait for PRACK. */
  private earlyHeaders(): HeaderField[] {
    return [{ name: 'contact', value: `<${this.localContact()}>` }];
  }

  private provisional(res: SipResponse): void {
    if (this.reliable) this.reliable.send(res);
    else this.tx.respond(res);
  }

  private newSession(dialog: Dialog, sdpAnswer: string): DialogSession {
    const t = this.timerDecision;
    const session = new DialogSession(this.ua, dialog, {
      role: 'uas',
      localSdp: sdpAnswer,
      peerAllows: headerValues(this.request, 'allow').map((m) => m.toUpperCase()),
      timerPolicy: this.ua.sessionTimer ?? DEFAULT_SESSION_TIMER,
      timer: t?.kind === 'timer' ? t.active : undefined,
    });
    session.infoHandler = this.infoHandler;
    session.offerHandler = this.offerHandler;
    session.on('remote-offer', (offer, answer) => this.emit('remote-offer', offer, answer));
    session.on('expired', () => void this.hangup({ cause: 102, text: 'session timer expired' }));
    session.on('dialog-failed', (status) => {
      const s = this.sm.state;
      if (s !== 'answered' && s !== 'confirmed') return;
      this.sm.to('terminated');
      this.emit('ended', 'remote', `dialog gone (${status} to an in-dialog request)`);
    });
    return session;
  }

  private response(status: number, reason?: string, headers: HeaderField[] = [], body?: Buffer): SipResponse {
    const res = buildResponse(this.request, status, reason, { toTag: this.localTag, ...(body ? { body } : {}) });
    // §12.1.1: responses that establish a dialog carry the request's Record-Route values.
    if (status > 100 && status < 300) for (const rr of headerValues(this.request, 'record-route')) addHeader(res, 'Record-Route', rr);
    addHeader(res, 'User-Agent', this.ua.userAgent);
    addHeader(res, 'Allow', DIALOG_METHODS);
    for (const h of headers) res.headers.push(h);
    return res;
  }

  /** Timer G-like schedule for the 2xx (T1 doubling to T2), giving up at 64*T1 (§13.3.1.4). */
  private retransmit2xx(intervalMs: number, elapsedMs: number): void {
    const limitMs = 64 * this.ua.timers.t1Ms;
    const waitMs = Math.min(intervalMs, limitMs - elapsedMs);
    // Armed on the state machine: leaving 'answered' (ACK, BYE, shutdown) cancels it.
    this.sm.arm('2xx', waitMs, () => {
      const total = elapsedMs + waitMs;
      if (total >= limitMs) {
        this.ua.log.warn('no ACK for 2xx within 64*T1: ending the call', { callId: this.sipCallId });
        void this.sendBye('local', 'no ACK');
        return;
      }
      if (this.okResponse) this.tx.respond(this.okResponse);
      this.retransmit2xx(Math.min(2 * intervalMs, this.ua.timers.t2Ms), total);
    });
  }

  private sendBye(by: 'local' | 'remote', reason: string, q850?: Q850Reason): Promise<void> {
    const dialog = this.dialog;
    if (!dialog) return Promise.resolve();
    this.sm.to('terminating');
    this.session?.stop();
    const bye = dialog.createRequest('BYE');
    addHeader(bye, 'User-Agent', this.ua.userAgent);
    if (q850) addHeader(bye, 'Reason', formatQ850Reason(q850));
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (this.sm.state !== 'terminated') this.sm.to('terminated');
        this.emit('ended', by, reason);
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
}
