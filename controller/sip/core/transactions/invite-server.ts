/**
 * INVITE server transaction, RFC 3261 §17.2.1 (Figure 7).
 *
 *                      |INVITE, pass to TU, send 100 if TU won't in 200 ms
 *                      V
 *  INVITE       +-----------+
 *  send resp.   | Proceeding|---------------------------------------+
 *    +----------|           | 2xx from TU, send response (TU then   |
 *    +--------->+-----------+ retransmits it until ACK, §13.3.1.4)  |
 *   1xx from TU     |  300-699 from TU, send response               |
 *                   V                                               |
 *  INVITE      +-----------+  Timer H fires, inform TU              |
 *  send resp.  | Completed |----------------------------------------+
 *   +----------|           |  Timer G: resend response              |
 *   +--------->+-----------+  (T1 doubling to T2, UDP only)         |
 *                   | ACK                                           |
 *                   V                                               |
 *              +-----------+  Timer I (T4 over UDP, 0 reliable)     V
 *              | Confirmed |---------------------------------> Terminated
 *              +-----------+
 *
 * This transaction sends the 100 Trying itself at once (§17.2.1 allows it; the demo endpoint
 * rings later). 2xx retransmission is the UA core's job (see dialogs/ack-waiter.ts).
 */
import type { SipRequest, SipResponse } from '../messages/message';
import { StateMachine, type TransitionTable } from './state-machine';
import type { Destination, Transaction, TransactionContext } from './transaction';

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'terminated';

const TABLE: TransitionTable<InviteServerState> = {
  proceeding: ['completed', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
};

export class InviteServerTransaction implements Transaction {
  readonly kind = 'ist' as const;
  onTerminated: (() => void) | undefined;
  /** Timer H fired: the ACK never came (§17.2.1); the TU is told. */
  onAckTimeout: (() => void) | undefined;
  private readonly sm: StateMachine<InviteServerState>;
  private lastResponse: SipResponse | undefined;

  constructor(
    readonly id: string,
    readonly request: SipRequest,
    readonly responseDestination: Destination,
    private readonly ctx: TransactionContext,
  ) {
    this.sm = new StateMachine(`INVITE server transaction ${id}`, TABLE, 'proceeding', ctx.clock, (s) => {
      if (s === 'terminated') this.onTerminated?.();
    });
  }

  get state(): InviteServerState {
    return this.sm.state;
  }

  /** A retransmitted INVITE: resend the last response (Proceeding and Completed). */
  receiveRequest(): void {
    if ((this.sm.state === 'proceeding' || this.sm.state === 'completed') && this.lastResponse) {
      this.ctx.send(this.lastResponse, this.responseDestination);
    }
  }

  /** The ACK for a non-2xx final response (same branch). */
  receiveAck(): void {
    if (this.sm.state !== 'completed') return;
    this.sm.to('confirmed');
    this.sm.arm('I', this.ctx.reliable ? 0 : this.ctx.timers.t4Ms, () => this.sm.to('terminated'));
  }

  respond(res: SipResponse): void {
    if (this.sm.state !== 'proceeding') return;
    this.lastResponse = res;
    this.ctx.send(res, this.responseDestination);
    if (res.status < 200) return;
    if (res.status < 300) {
      this.sm.to('terminated');
      return;
    }
    this.sm.to('completed');
    const t = this.ctx.timers;
    if (!this.ctx.reliable) this.armTimerG(t.t1Ms);
    this.sm.arm('H', 64 * t.t1Ms, () => {
      this.sm.to('terminated');
      this.onAckTimeout?.();
    });
  }

  private armTimerG(intervalMs: number): void {
    this.sm.arm('G', intervalMs, () => {
      if (this.lastResponse) this.ctx.send(this.lastResponse, this.responseDestination);
      this.armTimerG(Math.min(2 * intervalMs, this.ctx.timers.t2Ms));
    });
  }

  terminate(): void {
    if (this.sm.state !== 'terminated') this.sm.to('terminated');
  }
}
