/**
 * Parses the processor's HTTP answer into a `ProcessorResult`. Expected body (HTTP 200):
 *
 *   { "status": "approved" | "declined" | "error", "reference"?: "<1–64 of A-Z a-z 0-9 . _ : ->", "reason"?: "<a-z0-9->" }
 *
 * Anything else is `error` with reason `bad-response` (or `http-NNN` for a non-200 status). A
 * reference or reason that looks like a card number is refused (a processor must never echo one,
 * and this text goes to the agent and the fleet).
 */
import { z } from 'zod';
import { findCardLikeRun } from '../../hw/base/card-guard';
import type { ProcessorResult } from './processor-types';

const responseSchema = z.object({
  status: z.enum(['approved', 'declined', 'error']),
  reference: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional(),
  reason: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
});

export const MAX_RESPONSE_BYTES = 16 * 1024;

export function parseProcessorResponse(status: number, body: Buffer): ProcessorResult {
  if (status !== 200) return { outcome: 'error', reason: `http-${status}` };
  if (body.length > MAX_RESPONSE_BYTES) return { outcome: 'error', reason: 'bad-response' };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { outcome: 'error', reason: 'bad-response' };
  }
  const r = responseSchema.safeParse(json);
  if (!r.success) return { outcome: 'error', reason: 'bad-response' };
  const { status: outcome, reference, reason } = r.data;
  if ((reference !== undefined && findCardLikeRun(reference)) || (reason !== undefined && findCardLikeRun(reason))) {
    return { outcome: 'error', reason: 'bad-response' };
  }
  const out: ProcessorResult = { outcome };
  if (reference !== undefined) out.reference = reference;
  if (reason !== undefined) out.reason = reason;
  return out;
}
