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
 */
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { TimerHandle } from '../../../hw/base/clock';
import { errorMessage } from '../../../hw/base/errors';
import { addHeader, cseq, header, newRequest, type SipRequest, type SipResponse } from '../core/messages/message';
import { Dialog, uriDestination } from '../core/dialogs/dialog';
import type { ClientTransaction } from '../core/transaction-layer';
import { StateMachine, type TransitionTable } from '../core/transactions/state-machine';
import type { Destination } from '../core/transactions/transaction';
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
  answered: [sdpAnswer: string];
  failed: [status: number, reason: string];
  ended: [by: 'remote' | 'local', reason: string];
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
  private readonly destination: Destination;

  constructor(
    private readonly ua: UaContext,
    readonly invite: SipRequest,
    private readonly answerTimeoutMs: number,
  ) {
    super();
    this.destination = uriDestination(invite.uri);
    this.sm = new StateMachine(`outgoing call ${this.sipCallId}`, TABLE, 'calling', ua.clock, (s) => {
      if (s === 'terminated') {
        this.answerTimer?.cancel();
        this.dialog?.terminate();
        this.ua.release(this.sipCallId, 'outgoing');
      }
    });
  }

  get sipCallId(): string {
    return header(this.invite, 'call-id') ?? '';
  }

  get state(): OutgoingCallState {
    return this.sm.state;
  }

  /** Sends the INVITE (called by the user agent). */
  start(): void {
    this.inviteTx = this.ua.sendRequest(this.invite, this.destination, {
      onResponse: (res) => this.onInviteResponse(res),
      onTimeout: () => this.fail(408, 'no response to INVITE (Timer B)'),
    });
    this.answerTimer = this.ua.clock.setTimeout(() => {
      this.failOverride = { status: 408, reason: `no answer within ${this.answerTimeoutMs} ms` };
      this.cancel();
    }, this.answerTimeoutMs);
  }

  cancel(): void {
    const s = this.sm.state;
    if (s !== 'calling' && s !== 'proceeding') return;
    this.sm.to('cancelling');
    if (this.gotProvisional) this.sendCancel();
    else this.cancelPending = true;
  }

  hangup(): Promise<void> {
    const s = this.sm.state;
    if (s === 'calling' || s === 'proceeding') {
      this.cancel();
      return Promise.resolve();
    }
    if (s !== 'established') return this.hangupDone ?? Promise.resolve();
    this.hangupDone = this.sendBye('local', 'hangup');
    return this.hangupDone;
  }

  /** An in-dialog BYE from the peer (already answered 200 by the user agent). */
  remoteBye(): void {
    if (this.sm.state !== 'established' && this.sm.state !== 'terminating') return;
    const wasEstablished = this.sm.state === 'established';
    this.sm.to('terminated');
    if (wasEstablished) this.emit('ended', 'remote', 'BYE');
  }

  /** Does an in-dialog request from the peer belong to this call? */
  matches(req: SipRequest): boolean {
    return this.dialog?.matchesRequest(req) ?? false;
  }

  /** A 2xx retransmission that arrived after the INVITE transaction ended: ACK it again. */
  strayResponse(res: SipResponse): void {
    if (res.status >= 200 && res.status < 300 && cseq(res).method === 'INVITE' && this.ack && this.dialog) {
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
      this.gotProvisional = true;
      if (this.sm.state === 'calling') this.sm.to('proceeding');
      if (this.cancelPending) {
        this.cancelPending = false;
        this.sendCancel();
      }
      if (res.status > 100) this.emit('progress', res.status, res.reason);
      return;
    }
    if (res.status < 300) {
      this.on2xx(res);
      return;
    }
    const o = this.failOverride;
    this.fail(o ? o.status : res.status, o ? o.reason : res.reason);
  }

  private on2xx(res: SipResponse): void {
    if (this.sm.state === 'established' || this.sm.state === 'terminating' || this.sm.state === 'terminated') {
      this.strayResponse(res);
      return;
    }
    try {
      this.dialog = Dialog.fromUac(this.invite, res, this.ua.clock);
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
    const sdp = res.body.toString('utf8');
    this.emit('answered', sdp);
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
    // The CANCEL keeps the INVITE's Via (same branch): send it through the layer directly.
    this.ua.layer.sendRequest(cancel, this.destination, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  private sendBye(by: 'local' | 'remote', reason: string, emitEnded = true): Promise<void> {
    const dialog = this.dialog;
    if (!dialog) return Promise.resolve();
    this.sm.to('terminating');
    const bye = dialog.createRequest('BYE');
    addHeader(bye, 'User-Agent', this.ua.userAgent);
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

  private fail(status: number, reason: string): void {
    if (this.sm.state === 'terminated') return;
    this.inviteTx = undefined;
    this.sm.to('terminated');
    this.emit('failed', status, reason);
  }
}
