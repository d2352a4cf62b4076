/**
 * The masking record of a payment session (DESIGN.md §5, issue 6): how many tones the masker replaced
 * during the session (a delta of the uplink DSP's counter), whether the masking faulted (fail closed:
 * the uplink was muted), and the independent second check of the encoded audio that left
 * (`UplinkAudit`). Published with the session result and kept in the session record; `clean: false`
 * when the second check found a digit, which must raise a critical alarm.
 */
import type { AuditCounts } from './uplink-audit';

export interface MaskingRecord {
  /** Tones the masker replaced during the session. */
  maskedTones: number;
  /** The masking engine faulted during the session (the uplink was muted from then on). */
  faulted: boolean;
  secondCheck: {
    detector: string;
    /** False when no encoded payload reached the check (not wired, or no audio left). */
    ran: boolean;
    samplesChecked: number;
    digitsFound: number;
    suspectWindows: number;
  };
  /** No digit found by the second check. */
  clean: boolean;
}

export interface MaskingRecordInput {
  maskedTonesAtStart: number;
  maskedTonesAtEnd: number;
  faulted: boolean;
  detector: string;
  audit: Readonly<AuditCounts>;
}

export function computeMaskingRecord(input: MaskingRecordInput): MaskingRecord {
  const a = input.audit;
  return {
    maskedTones: Math.max(0, input.maskedTonesAtEnd - input.maskedTonesAtStart),
    faulted: input.faulted,
    secondCheck: {
      detector: input.detector,
      ran: a.samplesChecked > 0,
      samplesChecked: a.samplesChecked,
      digitsFound: a.digitsFound,
      suspectWindows: a.suspectWindows,
    },
    clean: a.digitsFound === 0,
  };
}
