/**
 * The payment session's public types: what starts one, what the agent and fleet see, how it ends.
 * None of these carries card digits: feedback holds counts, validity, brand, last four (and BIN by
 * policy), which is the PCI DSS 3.4.1 display limit.
 */
import type { CardBrand } from './card-brands';
import type { FieldFeedback } from './field-capture';
import type { PaymentField } from './field-rules';
import type { MaskingRecord } from './masking-record';

export type PaymentState = 'started' | 'collecting' | 'submitting' | 'approved' | 'declined' | 'error' | 'cancelled' | 'timed-out';
export type PaymentOutcome = Extract<PaymentState, 'approved' | 'declined' | 'error' | 'cancelled' | 'timed-out'>;
export const TERMINAL_STATES: readonly PaymentState[] = ['approved', 'declined', 'error', 'cancelled', 'timed-out'];

/** Which key clears a field and which ends it (DESIGN.md §2: `*` clears, `#` ends, configurable). */
export type FieldKey = 'star' | 'hash' | 'none';

/** A request to start a payment on a call (MQTT `pay.start` or SIP INFO). */
export interface PaymentRequest {
  /** Idempotency of start: the same request id returns the same session. */
  requestId: string;
  /** The appliance's call id (carried in the INVITE). */
  callId: string;
  /** Fields to capture, in order; card-number must come before security-code when both are asked. */
  fields: readonly PaymentField[];
  /** Brands accepted; default: all. */
  acceptedBrands?: readonly CardBrand[];
  /** Amount in minor units (cents), ISO 4217 currency, merchant reference: passed to the processor. */
  amountMinor: number;
  currency: string;
  reference: string;
  /** No key in the current field for this long ends the session timed-out (ms). */
  fieldTimeoutMs?: number;
  /** The whole session may last this long (ms) before it ends timed-out. */
  sessionTimeoutMs?: number;
}

/** The policy the sessions need: the proposed `payments` config slice satisfies it as is (docs/payments.md). */
export interface PaymentPolicy {
  clearKey: FieldKey;
  endKey: FieldKey;
  /** BIN digits shown to the agent once the card number is complete: 0 never, 6 or 8. */
  binDigits: 0 | 6 | 8;
  /** Fixed postcode length (5 for US ZIP); undefined: 3–10 digits ended by the end key. */
  postcodeLength?: number;
  /** Rejected entries allowed per field before the session ends with an error. */
  maxAttemptsPerField: number;
  /** Defaults for requests that do not say (ms). */
  fieldTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Blank the caller's whole uplink (comfort noise) while the security code is keyed. */
  blankDuringSecurityCode: boolean;
  /** After a masking fault, keep the uplink muted this long after the error result (ms; 0: none). */
  faultHoldMs: number;
}

export const DEFAULT_PAYMENT_POLICY: PaymentPolicy = {
  clearKey: 'star',
  endKey: 'hash',
  binDigits: 0,
  maxAttemptsPerField: 3,
  fieldTimeoutMs: 30_000,
  sessionTimeoutMs: 300_000,
  blankDuringSecurityCode: false,
  faultHoldMs: 5_000,
};

/** How a session ended. `reason` is a short code, never free text from outside. */
export interface PaymentResult {
  outcome: PaymentOutcome;
  reason?: string;
  processorReference?: string;
  brand?: CardBrand;
  last4?: string;
  masking: MaskingRecord;
}

/** The snapshot published as `pay/{sessionId}` and returned by `pay.status`. */
export interface PaymentSnapshot {
  sessionId: string;
  requestId: string;
  callId: string;
  state: PaymentState;
  /** The field now collecting, while collecting. */
  field?: PaymentField;
  fields: FieldFeedback[];
  /** Keys pressed that went to no field (letters A–D, keys after completion), counted not stored. */
  discardedKeys: number;
  startedAt: number;
  endedAt?: number;
  result?: PaymentResult;
}
