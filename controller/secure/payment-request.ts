/**
 * The `pay.start` parameters as one zod schema (MQTT command payload and the SIP INFO JSON body
 * parse with it), plus the other agent commands. Parsing never echoes values that could be card
 * data: a reference that looks like a card number is refused.
 */
import { z } from 'zod';
import { findCardLikeRun } from '../../hw/base/card-guard';
import { TonewallError } from '../../hw/base/errors';
import { CARD_BRANDS } from './card-brands';
import { PAYMENT_FIELDS } from './field-rules';
import type { PaymentRequest } from './payment-types';

const noCardLikeText = (s: string): boolean => findCardLikeRun(s) === undefined;
const id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1–64 letters, digits or . _ : -');

export const paymentStartSchema = z
  .object({
    requestId: id,
    callId: id,
    fields: z
      .array(z.enum(PAYMENT_FIELDS))
      .min(1)
      .max(4)
      .refine((f) => new Set(f).size === f.length, 'fields must not repeat')
      .refine((f) => !f.includes('security-code') || !f.includes('card-number') || f.indexOf('card-number') < f.indexOf('security-code'), 'card-number must come before security-code')
      .default(['card-number', 'expiry', 'security-code']),
    acceptedBrands: z.array(z.enum(CARD_BRANDS)).min(1).optional(),
    amountMinor: z.number().int().min(0).max(1e12),
    currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code, e.g. USD'),
    reference: z.string().min(1).max(64).refine(noCardLikeText, 'must not look like a card number'),
    fieldTimeoutMs: z.number().int().min(1000).max(600_000).optional(),
    sessionTimeoutMs: z.number().int().min(5000).max(3_600_000).optional(),
  })
  .strict();

export const paymentSessionCommandSchema = z.object({ sessionId: id }).strict();
export const paymentClearFieldSchema = z.object({ sessionId: id, field: z.enum(PAYMENT_FIELDS).optional() }).strict();

/** Parses a pay.start payload; the error lists every problem by path (values are not echoed). */
export function parsePaymentRequest(input: unknown): PaymentRequest {
  const r = paymentStartSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TonewallError('ESECURE_REQUEST', `pay.start parameters rejected: ${problems}`);
  }
  return r.data;
}
