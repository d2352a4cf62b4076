/**
 * The row a payment session leaves in the store (DESIGN.md §8): ids, times, result, brand, last four,
 * counts and the masking record — by construction no card number, no expiry, no security code
 * (PCI DSS 3.2.1, 3.3.1). The store's schema test can compare its columns with `PAYMENT_RECORD_COLUMNS`.
 */
import type { PaymentSnapshot } from './payment-types';

export interface PaymentRecord {
  sessionId: string;
  requestId: string;
  callId: string;
  startedAt: number;
  endedAt: number | null;
  outcome: string;
  reason: string | null;
  processorReference: string | null;
  brand: string | null;
  last4: string | null;
  /** Fields requested, in order, comma-separated names (e.g. "card-number,expiry,security-code"). */
  fields: string;
  /** Digits entered per field, comma-separated counts in the same order. */
  digitCounts: string;
  discardedKeys: number;
  maskedTones: number;
  maskingFaulted: boolean;
  secondCheckDetector: string;
  secondCheckSamples: number;
  secondCheckDigits: number;
  maskingClean: boolean;
}

export const PAYMENT_RECORD_COLUMNS: readonly (keyof PaymentRecord)[] = [
  'sessionId',
  'requestId',
  'callId',
  'startedAt',
  'endedAt',
  'outcome',
  'reason',
  'processorReference',
  'brand',
  'last4',
  'fields',
  'digitCounts',
  'discardedKeys',
  'maskedTones',
  'maskingFaulted',
  'secondCheckDetector',
  'secondCheckSamples',
  'secondCheckDigits',
  'maskingClean',
];

/** The record of an ended session (the `ended` event's snapshot). */
export function paymentRecord(s: PaymentSnapshot): PaymentRecord {
  const r = s.result;
  const m = r?.masking;
  return {
    sessionId: s.sessionId,
    requestId: s.requestId,
    callId: s.callId,
    startedAt: s.startedAt,
    endedAt: s.endedAt ?? null,
    outcome: r?.outcome ?? s.state,
    reason: r?.reason ?? null,
    processorReference: r?.processorReference ?? null,
    brand: r?.brand ?? null,
    last4: r?.last4 ?? null,
    fields: s.fields.map((f) => f.field).join(','),
    digitCounts: s.fields.map((f) => f.count).join(','),
    discardedKeys: s.discardedKeys,
    maskedTones: m?.maskedTones ?? 0,
    maskingFaulted: m?.faulted ?? false,
    secondCheckDetector: m?.secondCheck.detector ?? '',
    secondCheckSamples: m?.secondCheck.samplesChecked ?? 0,
    secondCheckDigits: m?.secondCheck.digitsFound ?? 0,
    maskingClean: m?.clean ?? true,
  };
}
