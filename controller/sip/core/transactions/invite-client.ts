/**
 * INVITE client transaction, RFC 3261 §17.1.1 (Figure 5).
 *
 *                    |INVITE from TU
 *  Timer A fires     |INVITE sent          Timer B fires
 *  Reset A,          V                     inform TU
 *  INVITE sent +-----------+              +---------------+
 *    +---------|  Calling  |------------->|               |
 *    +-------->|           |  2xx to TU   |               |
 *              +-----------+              |               |
 *   300-699       |  |1xx                 |               |
 *   ACK sent      |  V  1xx to TU         |               |
 *   resp to TU    | +-----------+  2xx    |               |
 *      +----------|-| Proceeding|-------->|  Terminated   |
 *      |          | +-----------+ to TU   |               |
 *      |          |      |300-699         |               |
 *      V          V      V ACK, to TU     |               |
 *            +-----------+  Timer D       |               |
 *  300-699   | Completed |--------------->|               |
 *  ACK sent  +-----------+                +---------------+
 *  (retransmitted final: ACK again, not passed to the TU)
 *
 * Timer A = T1 doubling (unreliable transports only), Timer B = 64*T1 (Calling only), Timer D = 32 s over UDP
 * (0 over reliable). A 2xx terminates the transaction; the UA core sends the ACK for it (§13.2.2.4)
 * and absorbs 2xx retransmissions through the dialog.
 */
import { addHeader, header, headerValues, newRequest, cseq, type SipRequest, type SipResponse } from '../messages/message';
import { StateMachine, type TransitionTable } from './state-machine';
import type { ClientTransactionUser, Destination, Transaction, TransactionContext } from './transaction';

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'terminated';

const TABLE: TransitionTable<InviteClientState> = {
  calling: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

/** Timer D over unreliable transports, §17.1.1.2: at least 32 s. */
export const TIMER_D_MS = 32_000;

/** The ACK for a non-2xx final response, §17.1.1.3. */
export function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const ack = newRequest('ACK', invite.uri);
  const via = header(invite, 'via');
  if (via !== undefined) addHeader(ack, 'Via', via);
  for (const r of headerValues(invite, 'route')) addHeader(ack, 'Route', r);
  addHeader(ack, 'Max-Forwards', '70');
  addHeader(ack, 'From', header(invite, 'from') ?? '');
  addHeader(ack, 'To', header(res, 'to') ?? '');
  addHeader(ack, 'Call-ID', header(invite, 'call-id') ?? '');
  addHeader(ack, 'CSeq', `${cseq(invite).seq} ACK`);
  return ack;
}

export class InviteClientTransaction implements Transaction {
  readonly kind = 'ict' as const;
  onTerminated: (() => void) | undefined;
  private readonly sm: StateMachine<InviteClientState>;
  private ack: SipRequest | undefined;

  constructor(
    readonly id: string,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly ctx: TransactionContext,
    private readonly user: ClientTransactionUser,
  ) {
    this.sm = new StateMachine(`INVITE client transaction ${id}`, TABLE, 'calling', ctx.clock, (s) => {
      if (s === 'terminated') this.onTerminated?.();
    });
  }

  get state(): InviteClientState {
    return this.sm.state;
  }

  /** Sends the INVITE and arms Timers A and B. */
  start(): void {
    this.ctx.send(this.request, this.destination);
    const t = this.ctx.timers;
    if (!this.ctx.reliable) this.armTimerA(t.t1Ms);
    this.sm.arm('B', t.timerBMs ?? 64 * t.t1Ms, () => {
      this.sm.to('terminated');
      this.user.onTimeout();
    });
  }

  private armTimerA(intervalMs: number): void {
    this.sm.arm('A', intervalMs, () => {
      this.ctx.send(this.request, this.destination);
      this.armTimerA(intervalMs * 2);
    });
  }

  receiveResponse(res: SipResponse): void {
    const state = this.sm.state;
    if (state === 'terminated') return;
    if (res.status < 200) {
      if (state === 'calling') this.toProceeding();
      if (state !== 'completed') this.user.onResponse(res);
      return;
    }
    if (res.status < 300) {
      if (state === 'completed') return;
      this.sm.to('terminated');
      this.user.onResponse(res);
      return;
    }
    if (state === 'completed') {
      // A retransmitted final response: ACK again, not passed up (§17.1.1.2).
      if (this.ack) this.ctx.send(this.ack, this.destination);
      return;
    }
    this.ack = buildNon2xxAck(this.request, res);
    this.ctx.send(this.ack, this.destination);
    this.sm.to('completed');
    this.sm.arm('D', this.ctx.reliable ? 0 : TIMER_D_MS, () => this.sm.to('terminated'));
    this.user.onResponse(res);
  }

  /** Timer A and B stop in Proceeding (Figure 5); the UA core's answer timeout takes over. */
  private toProceeding(): void {
    this.sm.to('proceeding');
  }

  /** Stops every timer and forgets the transaction (UA shutdown). */
  terminate(): void {
    if (this.sm.state !== 'terminated') this.sm.to('terminated');
  }
}
