/**
 * The offer/answer state of a confirmed dialog (RFC 3264 §8, RFC 3261 §14, RFC 3311 §5): at most
 * one offer in progress, in either direction.
 *
 *            send re-INVITE/UPDATE with SDP             receive re-INVITE/UPDATE with SDP
 *   local-offer ◀──────────────────── stable ────────────────────────▶ remote-offer
 *        │   answer / failure           ▲        answered (UPDATE 2xx, re-INVITE ACK) │
 *        └──────────────────────────────┴─────────────────────────────────────────────┘
 *
 * Glare (§14.1, RFC 3311 §5.2): an offer arriving while ours is outstanding is answered 491; one
 * arriving while we have not yet answered the previous one is answered 500 with Retry-After. The
 * side that got the 491 retries after a random wait: 2.1–4 s in 10 ms units when it owns the
 * Call-ID (it sent the dialog's initial INVITE), else 0–2 s.
 */
import type { Clock } from '../../../../hw/base/clock';
import { StateMachine, type TransitionTable } from '../transactions/state-machine';

export type OfferAnswerState = 'stable' | 'local-offer' | 'remote-offer';

const TABLE: TransitionTable<OfferAnswerState> = {
  stable: ['local-offer', 'remote-offer'],
  'local-offer': ['stable'],
  'remote-offer': ['stable'],
};

/** What to answer an incoming re-INVITE or UPDATE, given the offer state (pure). */
export type RemoteRequestDecision = { kind: 'accept' } | { kind: 'reject'; status: 491 } | { kind: 'reject'; status: 500; retryAfterS: number };

export function remoteRequestDecision(state: OfferAnswerState, inviteInProgress: boolean): RemoteRequestDecision {
  if (state === 'local-offer') return { kind: 'reject', status: 491 };
  if (state === 'remote-offer' || inviteInProgress) return { kind: 'reject', status: 500, retryAfterS: 1 + Math.floor(Math.random() * 10) };
  return { kind: 'accept' };
}

/** §14.1 retry wait after a 491, in ms: `random` in [0, 1). */
export function glareRetryMs(ownsCallId: boolean, random: number): number {
  const r = Math.min(Math.max(random, 0), 0.999999);
  if (ownsCallId) return 2100 + Math.floor(r * 191) * 10; // 2.1 .. 4.0 s
  return Math.floor(r * 201) * 10; // 0 .. 2.0 s
}

export class OfferAnswer {
  private readonly sm: StateMachine<OfferAnswerState>;

  constructor(name: string, clock: Clock) {
    this.sm = new StateMachine(`offer/answer ${name}`, TABLE, 'stable', clock);
  }

  get state(): OfferAnswerState {
    return this.sm.state;
  }

  localOffer(): void {
    this.sm.to('local-offer');
  }

  remoteOffer(): void {
    this.sm.to('remote-offer');
  }

  /** The offer in progress is answered, rejected or timed out. */
  settle(): void {
    if (this.sm.state !== 'stable') this.sm.to('stable');
  }
}
