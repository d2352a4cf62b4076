/**
 * INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) with the Accepted state of RFC 6026 §7.1.
 *
 *                      |INVITE, pass to TU, send 100 (we send it at once)
 *                      V
 *  INVITE       +-----------+  2xx from TU, send response
 *  send resp.   | Proceeding|------------------------------+
 *    +----------|           |                              V
 *    +--------->+-----------+                        +-----------+  2xx from TU: send
 *   1xx from TU     |  300-699 from TU, send response |  Accepted |  INVITE: absorb (the TU
 *                   V                                 +-----------+  retransmits the 2xx, §13.3.1.4)
 *  INVITE      +-----------+  Timer H fires, inform TU      | Timer L (64*T1)
 *  send resp.  | Completed |-------------------------+      V
 *   +----------|           |  Timer G: resend        +-> Terminated
 *   +--------->+-----------+  (T1 doubling to T2)    |
 *                   | ACK                            |
 *                   V                                |
 *              +-----------+  Timer I (T4 over UDP)  |
 *              | Confirmed |-------------------------+
 *              +-----------+
 *
 * Accepted keeps the transaction alive after the 2xx so a late retransmission of the INVITE is
 * absorbed here instead of looking like a new call to the UA core (the RFC 3261 race RFC 6026 fixes).
 */
import type { SipRequest, SipResponse } from '../messages/message';
import { StateMachine, type TransitionTable } from './state-machine';
import type { Destination, Transaction, TransactionContext } from './transaction';

export type InviteServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

const TABLE: TransitionTable<InviteServerState> = {
  proceeding: ['accepted', 'completed', 'terminated'],
  accepted: ['terminated'],
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

  /** A retransmitted INVITE: resend the last response (Proceeding and Completed); absorbed in Accepted. */
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
    if (this.sm.state === 'accepted' && res.status >= 200 && res.status < 300) {
      this.ctx.send(res, this.responseDestination); // the TU's 2xx retransmission (RFC 6026 §7.1)
      return;
    }
    if (this.sm.state !== 'proceeding') return;
    this.lastResponse = res;
    this.ctx.send(res, this.responseDestination);
    if (res.status < 200) return;
    if (res.status < 300) {
      this.sm.to('accepted');
      this.sm.arm('L', 64 * this.ctx.timers.t1Ms, () => this.sm.to('terminated'));
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
