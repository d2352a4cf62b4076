/**
 * The seam between a payment session and a payment processor. Two steps so the session can wipe the
 * captured digits the moment they are encrypted (DESIGN.md §2 step 5, PCI DSS 3.3.1):
 *
 *   seal(secrets) → SealedPayment (a JWE: ciphertext only)   … session destroys every CapturedDigits …
 *   send(sealed, order) → ProcessorResult                     (network; never throws, never queues)
 */
import type { CapturedDigits } from './captured-digits';

/** The captured fields handed to `seal`. The connector must not keep references after it returns. */
export interface PaymentSecrets {
  cardNumber?: CapturedDigits;
  expiry?: CapturedDigits;
  securityCode?: CapturedDigits;
  postcode?: CapturedDigits;
}

/** The encrypted card data: safe to hold, never to persist (it is still card data, encrypted). */
export interface SealedPayment {
  readonly jwe: string;
}

/** What travels beside the JWE: nothing of the card. */
export interface PaymentOrder {
  sessionId: string;
  /** Sent as the Idempotency-Key header: a retry of the same request is the same payment. */
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  reference: string;
}

export type ProcessorOutcome = 'approved' | 'declined' | 'error';

export interface ProcessorResult {
  outcome: ProcessorOutcome;
  /** Short reason code (ours for errors: unreachable, timeout, tls, bad-response, http-NNN). */
  reason?: string;
  /** The processor's reference or token. */
  reference?: string;
}

export interface ProcessorConnector {
  seal(secrets: PaymentSecrets): Promise<SealedPayment>;
  /** Resolves with an error result on any failure; never rejects. */
  send(sealed: SealedPayment, order: PaymentOrder): Promise<ProcessorResult>;
}
