/**
 * What a call object needs from its user agent: the transaction layer, the clock, and helpers that
 * put our Via / Contact / User-Agent on requests. Kept as an interface so calls do not import the
 * user agent class (no import cycle) and tests can see exactly what calls use.
 */
import type { SipTransportProtocol } from '../core/transport';
import type { Clock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import type { SipRequest } from '../core/messages/message';
import type { ClientTransaction, TransactionLayer } from '../core/transaction-layer';
import type { ClientTransactionUser, Destination, SipTimerValues } from '../core/transactions/transaction';
import type { SessionTimerPolicy } from '../core/dialogs/session-timer';

export interface UaContext {
  readonly layer: TransactionLayer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly timers: SipTimerValues;
  readonly userAgent: string;
  /** RFC 4028 interval we ask for and the minimum we accept (default 1800 s / 90 s). */
  readonly sessionTimer?: SessionTimerPolicy;
  /** Our Contact URI for a user part, e.g. `sip:5551234@127.0.0.1:5062`; over a given transport when we run it. */
  contactUri(user: string, over?: SipTransportProtocol): string;
  /** Adds a top Via with a new branch and sends the request in a client transaction. */
  sendRequest(req: SipRequest, dest: Destination, user: ClientTransactionUser): ClientTransaction;
  /** Sends an ACK for a 2xx outside transactions (§13.2.2.4); adds a top Via with a new branch the first time only, so retransmitted ACKs are identical. */
  sendAck(ack: SipRequest, dest: Destination): void;
  /** The call is over: forget it. */
  release(callId: string, kind: 'outgoing' | 'incoming'): void;
}

/** The base methods of RFC 3261. */
const BASE_METHODS = 'INVITE, ACK, CANCEL, BYE, OPTIONS';

/**
 * The methods our dialogs take (Allow on our 18x/2xx and in-dialog requests): INFO (RFC 6086),
 * UPDATE (RFC 3311), PRACK (RFC 3262) besides the base set.
 */
export const DIALOG_METHODS = `${BASE_METHODS}, INFO, UPDATE, PRACK`;

/** The methods our INVITEs and OPTIONS answers list (Allow, §20.5): everything a dialog takes. */
export const ALLOWED_METHODS = DIALOG_METHODS;
