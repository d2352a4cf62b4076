/**
 * Non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6), used for BYE, CANCEL and OPTIONS.
 *
 *                        |Request from TU
 *                        |send request
 *    Timer E             V
 *    send request  +-----------+
 *        +---------|  Trying   |-------------+
 *        +-------->|           |             |  Timer F or Transport Err.
 *                  +-----------+             |  inform TU
 *     200-699         |  |1xx                |
 *     resp. to TU     |  V 1xx to TU         |
 *        +------------|----------+           |
 *        | Timer E    | Proceeding|--------->|
 *        | send req   +-----------+ Timer F  |
 *        |     200-699 |                     |
 *        V resp to TU  V                     |
 *       +-----------------+                  |
 *       |    Completed    | Timer K          |
 *       +-----------------+--------+         |
 *                                  V         V
 *                              +-----------------+
 *                              |   Terminated    |
 *                              +-----------------+
 *
 * Timer E = T1 doubling up to T2 in Trying, T2 in Proceeding (unreliable only); Timer F = 64*T1;
 * Timer K = T4 over UDP, 0 over reliable transports.
 */
import type { SipRequest, SipResponse } from '../messages/message';
import { StateMachine, type TransitionTable } from './state-machine';
import type { ClientTransactionUser, Destination, Transaction, TransactionContext } from './transaction';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const TABLE: TransitionTable<NonInviteClientState> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

export class NonInviteClientTransaction implements Transaction {
  readonly kind = 'nict' as const;
  onTerminated: (() => void) | undefined;
  private readonly sm: StateMachine<NonInviteClientState>;
  private deadlineMs = 0;

  constructor(
    readonly id: string,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly ctx: TransactionContext,
    private readonly user: ClientTransactionUser,
  ) {
    this.sm = new StateMachine(`${request.method} client transaction ${id}`, TABLE, 'trying', ctx.clock, (s) => {
      if (s === 'terminated') this.onTerminated?.();
    });
  }

  get state(): NonInviteClientState {
    return this.sm.state;
  }

  start(): void {
    this.ctx.send(this.request, this.destination);
    const t = this.ctx.timers;
    this.deadlineMs = this.ctx.clock.monotonicMs() + 64 * t.t1Ms;
    this.armTimerF(64 * t.t1Ms);
    if (!this.ctx.reliable) this.armTimerE(t.t1Ms);
  }

  private armTimerF(ms: number): void {
    this.sm.arm('F', ms, () => {
      this.sm.to('terminated');
      this.user.onTimeout();
    });
  }

  private armTimerE(intervalMs: number): void {
    this.sm.arm('E', intervalMs, () => {
      this.ctx.send(this.request, this.destination);
      const t = this.ctx.timers;
      const next = this.sm.state === 'trying' ? Math.min(2 * intervalMs, t.t2Ms) : t.t2Ms;
      this.armTimerE(next);
    });
  }

  receiveResponse(res: SipResponse): void {
    const state = this.sm.state;
    if (state === 'completed' || state === 'terminated') return;
    if (res.status < 200) {
      if (state === 'trying') {
        this.sm.to('proceeding');
        // Timer F keeps its original deadline; Timer E continues at T2 (§17.1.2.2).
        this.armTimerF(Math.max(0, this.deadlineMs - this.ctx.clock.monotonicMs()));
        if (!this.ctx.reliable) this.armTimerE(this.ctx.timers.t2Ms);
      }
      this.user.onResponse(res);
      return;
    }
    this.sm.to('completed');
    this.sm.arm('K', this.ctx.reliable ? 0 : this.ctx.timers.t4Ms, () => this.sm.to('terminated'));
    this.user.onResponse(res);
  }

  terminate(): void {
    if (this.sm.state !== 'terminated') this.sm.to('terminated');
  }
}
