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
 */
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { buildResponse, newTag } from '../core/messages/build';
import { addHeader, header, headerValues, type HeaderField, type SipRequest, type SipResponse } from '../core/messages/message';
import { parseNameAddr } from '../core/messages/name-addr';
import { Dialog } from '../core/dialogs/dialog';
import type { InviteServerTransaction } from '../core/transactions/invite-server';
import { StateMachine, type TransitionTable } from '../core/transactions/state-machine';
import { ALLOWED_METHODS, type UaContext } from './ua-context';

export type IncomingCallState = 'offered' | 'ringing' | 'answered' | 'confirmed' | 'terminating' | 'terminated';

const TABLE: TransitionTable<IncomingCallState> = {
  offered: ['ringing', 'answered', 'terminated'],
  ringing: ['answered', 'terminated'],
  answered: ['confirmed', 'terminating', 'terminated'],
  confirmed: ['terminating', 'terminated'],
  terminating: ['terminated'],
  terminated: [],
};

export class IncomingCall extends TypedEmitter<{ ended: [by: 'remote' | 'local', reason: string] }> {
  private readonly sm: StateMachine<IncomingCallState>;
  private readonly localTag = newTag();
  private dialog: Dialog | undefined;
  private okResponse: SipResponse | undefined;
  private hangupDone: Promise<void> | undefined;

  constructor(
    private readonly ua: UaContext,
    readonly request: SipRequest,
    private readonly tx: InviteServerTransaction,
  ) {
    super();
    this.sm = new StateMachine(`incoming call ${this.sipCallId}`, TABLE, 'offered', ua.clock, (s) => {
      if (s === 'terminated') {
        this.dialog?.terminate();
        this.ua.release(this.sipCallId, 'incoming');
      }
    });
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
    this.tx.respond(this.response(180));
  }

  answer(sdpAnswer: string): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    this.dialog = Dialog.fromUas(this.request, this.localTag, this.ua.clock);
    const user = /^sips?:([^@;]+)@/.exec(this.request.uri)?.[1] ?? 'tonewall';
    const ok = this.response(200, undefined, [
      { name: 'contact', value: `<${this.ua.contactUri(user)}>` },
      { name: 'content-type', value: 'application/sdp' },
    ], Buffer.from(sdpAnswer, 'utf8'));
    this.okResponse = ok;
    this.sm.to('answered');
    this.tx.respond(ok);
    this.retransmit2xx(this.ua.timers.t1Ms, 0);
  }

  reject(status: number, reason?: string): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    if (status < 300 || status > 699) status = 500;
    this.tx.respond(this.response(status, reason));
    this.sm.to('terminated');
  }

  hangup(): Promise<void> {
    const s = this.sm.state;
    if (s === 'offered' || s === 'ringing') {
      this.reject(480);
      this.emit('ended', 'local', 'rejected before answer');
      return Promise.resolve();
    }
    if (s === 'answered' || s === 'confirmed') {
      this.hangupDone = this.sendBye('local', 'hangup');
      return this.hangupDone;
    }
    return this.hangupDone ?? Promise.resolve();
  }

  /** The ACK for our 2xx arrived (§13.3.1.4): stop retransmitting. */
  ackReceived(): void {
    if (this.sm.state === 'answered') this.sm.to('confirmed');
  }

  /** CANCEL matched this call's INVITE transaction (§9.2). */
  cancelled(): void {
    if (this.sm.state !== 'offered' && this.sm.state !== 'ringing') return;
    this.tx.respond(this.response(487));
    this.sm.to('terminated');
    this.emit('ended', 'remote', 'CANCEL');
  }

  /** The user agent is closing and stopped waiting: end the call here without more signalling. */
  abandon(): void {
    if (this.sm.state === 'terminated') return;
    this.sm.to('terminated');
    this.emit('ended', 'local', 'shutdown');
  }

  matches(req: SipRequest): boolean {
    return this.dialog?.matchesRequest(req) ?? false;
  }

  /** A BYE in this dialog (already answered 200 by the user agent). */
  remoteBye(): void {
    const s = this.sm.state;
    if (s !== 'answered' && s !== 'confirmed' && s !== 'terminating') return;
    this.sm.to('terminated');
    if (s !== 'terminating') this.emit('ended', 'remote', 'BYE');
  }

  async shutdown(): Promise<void> {
    await this.hangup();
  }

  private response(status: number, reason?: string, headers: HeaderField[] = [], body?: Buffer): SipResponse {
    const res = buildResponse(this.request, status, reason, { toTag: this.localTag, ...(body ? { body } : {}) });
    // §12.1.1: responses that establish a dialog carry the request's Record-Route values.
    if (status > 100 && status < 300) for (const rr of headerValues(this.request, 'record-route')) addHeader(res, 'Record-Route', rr);
    addHeader(res, 'User-Agent', this.ua.userAgent);
    addHeader(res, 'Allow', ALLOWED_METHODS);
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

  private sendBye(by: 'local' | 'remote', reason: string): Promise<void> {
    const dialog = this.dialog;
    if (!dialog) return Promise.resolve();
    this.sm.to('terminating');
    const bye = dialog.createRequest('BYE');
    addHeader(bye, 'User-Agent', this.ua.userAgent);
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
