/**
 * Non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8), for incoming BYE, CANCEL, OPTIONS.
 *
 *                       |Request received
 *                       |pass to TU
 *                       V
 *                 +-----------+
 *                 |  Trying   |-------------+
 *                 +-----------+             |
 *                    |  |1xx from TU        |  200-699 from TU
 *                    |  V send response     |  send response
 *  Request      +-----------+               |
 *  send resp.   | Proceeding|-------------->|
 *    +----------|           |  200-699      |
 *    +--------->+-----------+  send resp.   |
 *                                           V
 *  Request retransmission  +-----------+
 *  send response           | Completed |--- Timer J (64*T1 over UDP, 0 reliable) ---> Terminated
 *        +-----------------|           |
 *        +---------------->+-----------+
 *
 * A request retransmission in Trying is absorbed (nothing to resend yet).
 */
import type { SipRequest, SipResponse } from '../messages/message';
import { StateMachine, type TransitionTable } from './state-machine';
import type { Destination, Transaction, TransactionContext } from './transaction';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const TABLE: TransitionTable<NonInviteServerState> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export class NonInviteServerTransaction implements Transaction {
  readonly kind = 'nist' as const;
  onTerminated: (() => void) | undefined;
  private readonly sm: StateMachine<NonInviteServerState>;
  private lastResponse: SipResponse | undefined;

  constructor(
    readonly id: string,
    readonly request: SipRequest,
    /** Where responses go (§18.2.2: received/rport of the top Via). */
    readonly responseDestination: Destination,
    private readonly ctx: TransactionContext,
  ) {
    this.sm = new StateMachine(`${request.method} server transaction ${id}`, TABLE, 'trying', ctx.clock, (s) => {
      if (s === 'terminated') this.onTerminated?.();
    });
  }

  get state(): NonInviteServerState {
    return this.sm.state;
  }

  receiveRequest(): void {
    if ((this.sm.state === 'proceeding' || this.sm.state === 'completed') && this.lastResponse) {
      this.ctx.send(this.lastResponse, this.responseDestination);
    }
  }

  respond(res: SipResponse): void {
    const state = this.sm.state;
    if (state === 'completed' || state === 'terminated') return;
    this.lastResponse = res;
    this.ctx.send(res, this.responseDestination);
    if (res.status < 200) {
      if (state === 'trying') this.sm.to('proceeding');
      return;
    }
    this.sm.to('completed');
    this.sm.arm('J', this.ctx.reliable ? 0 : 64 * this.ctx.timers.t1Ms, () => this.sm.to('terminated'));
  }

  terminate(): void {
    if (this.sm.state !== 'terminated') this.sm.to('terminated');
  }
}
