/**
 * What every transaction needs from the layer below and tells the layer above (RFC 3261 §17).
 * Timer values are §17.1.1.1 / Table 4 (T1 500 ms, T2 4 s, T4 5 s), configurable for tests.
 */
import type { SipTransportProtocol } from '../transport';
import type { Clock } from '../../../../hw/base/clock';
import type { Logger } from '../../../../hw/base/logger';
import type { SipMessage, SipResponse } from '../messages/message';

export interface SipTimerValues {
  t1Ms: number;
  t2Ms: number;
  t4Ms: number;
  /** Timer B (INVITE client timeout), 64*T1 by default; the UA may set its answer timeout here. */
  timerBMs?: number;
}

export const DEFAULT_SIP_TIMERS: SipTimerValues = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };

export interface Destination {
  address: string;
  port: number;
  /** The transport to send over (a trunk's `;transport=` / sips:); absent: the agent's primary one. */
  protocol?: SipTransportProtocol;
}

/** The transport side of a transaction: serialize-and-send to one destination. */
export interface TransactionContext {
  clock: Clock;
  log: Logger;
  timers: SipTimerValues;
  reliable: boolean;
  send(msg: SipMessage, dest: Destination): void;
}

/** The transaction user (the UA core) of a client transaction. */
export interface ClientTransactionUser {
  onResponse(res: SipResponse): void;
  /** Timer B or F fired without a final response (§17.1.1.2, §17.1.2.2): act as a 408. */
  onTimeout(): void;
}

export type TransactionKind = 'ict' | 'nict' | 'ist' | 'nist';

export interface Transaction {
  readonly kind: TransactionKind;
  readonly id: string;
  readonly state: string;
  /** Called once when the transaction reaches Terminated (the layer forgets it). */
  onTerminated: (() => void) | undefined;
}
