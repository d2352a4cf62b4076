/**
 * Payment session records (DESIGN.md §8): ids, times, outcome, brand, last four, counts and the
 * masking record. No card number, expiry or security code — there is no column for them, and the
 * row is scanned like every other record before it is written. The store never sees controller/secure's
 * types: this row shape is its own (the composition root maps one to the other).
 */
import type Database from 'better-sqlite3';
import { TonewallError } from '../../hw/base/errors';
import { describeFinding, findSensitive } from './sensitive-scan';

export interface PaymentSessionRow {
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
  fields: string;
  digitCounts: string;
  discardedKeys: number;
  maskedTones: number;
  maskingFaulted: boolean;
  secondCheckDetector: string;
  secondCheckSamples: number;
  secondCheckDigits: number;
  maskingClean: boolean;
}

export class PaymentSessions {
  private readonly upsertStmt: Database.Statement;
  private readonly getStmt: Database.Statement<[string]>;
  private readonly incCallStmt: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.upsertStmt = db.prepare(`INSERT OR REPLACE INTO payment_sessions (session_id, request_id, call_id, started_ms, ended_ms, outcome, reason,
      processor_reference, brand, last4, fields, entry_counts, discarded_keys, masked_tones, masking_faulted, second_check_detector,
      second_check_samples, second_check_hits, masking_clean) VALUES (@sessionId, @requestId, @callId, @startedAt, @endedAt, @outcome, @reason,
      @processorReference, @brand, @last4, @fields, @digitCounts, @discardedKeys, @maskedTones, @maskingFaulted, @secondCheckDetector,
      @secondCheckSamples, @secondCheckDigits, @maskingClean)`);
    this.getStmt = db.prepare('SELECT * FROM payment_sessions WHERE session_id = ?');
    this.incCallStmt = db.prepare('UPDATE calls SET payment_count = payment_count + 1 WHERE call_id = ?');
  }

  /** Writes the ended session's record and counts it on its call's CDR. */
  record(row: PaymentSessionRow): void {
    // last4 is the PCI DSS 3.4.1 display limit; the guard's digit-run scan cannot mistake 4 digits for a card.
    const finding = findSensitive({ ...row }, 'payment');
    if (finding) throw new TonewallError('EPAYMENT_SENSITIVE', `payment record refused: ${describeFinding(finding)}`);
    this.upsertStmt.run({ ...row, maskingFaulted: row.maskingFaulted ? 1 : 0, maskingClean: row.maskingClean ? 1 : 0 });
    this.incCallStmt.run(row.callId);
  }

  get(sessionId: string): Record<string, unknown> | undefined {
    return this.getStmt.get(sessionId) as Record<string, unknown> | undefined;
  }
}
