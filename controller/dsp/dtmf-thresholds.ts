/**
 * The two thresholds of DESIGN.md §5, applied to one analysed window (dtmf-analyser.ts):
 *
 * - REPORT: a digit counts only by the receiver rules of ITU-T Q.24 (Annex A) and ETSI ES 201 235-3:
 *     level      each tone ≥ -36 dBm0 (Q.24 operating range reaches -30 dBm0 per tone at least; we
 *                leave 6 dB of margin for line loss and G.711)
 *     twist      high group minus low group within [-10, +6] dB: Q.24 Table A-1 (North American
 *                entries, also Telcordia LSSGR / TIA-464): accept 8 dB "normal" twist (high group
 *                weaker) and 4 dB "reverse" twist (high group stronger); we add 2 dB because the other tone
 *                moves a 102-sample measurement by up to ±1.6 dB
 *     frequency  each tone within ±2.5 % of nominal: Q.24 / ES 201 235-3 accept ±1.5 %, reject ±3.5 %;
 *                the decision sits midway
 *     selectivity strongest row and column ≥ 6 dB above the next in their group
 *     S/N        row + column power ≥ 75 % of the window's power (tone at least ~5 dB above noise,
 *                speech or a third tone)
 *   Duration and pause rules (accept ≥ 40 ms, reject < 20 ms; pause ≥ 40 ms) are counted in windows
 *   by the detector (dtmf-detector.ts).
 * - MASK: anything DTMF-like, deliberately loose so that tones too short, too weak, too twisted or too
 *   far off-frequency to count are still replaced: one row and one column bin each ≥ -45 dBm0, within
 *   20 dB of each other, together ≥ 30 % of the window's power. No frequency or duration test.
 */
import type { DtmfWindow } from './dtmf-analyser';
import { dbm0ToPeak } from './tone-generator';

export interface ReportThresholds {
  minLevelDbm0: number;
  /** Lowest accepted (high group − low group) level, dB (normal twist, negative). */
  minHighMinusLowDb: number;
  /** Highest accepted (high group − low group) level, dB (reverse twist). */
  maxHighMinusLowDb: number;
  maxDeviationPct: number;
  minPeakRatioDb: number;
  minToneFraction: number;
}

export interface MaskThresholds {
  minLevelDbm0: number;
  maxTwistDb: number;
  minToneFraction: number;
}

export const REPORT_THRESHOLDS: Readonly<ReportThresholds> = {
  minLevelDbm0: -36,
  minHighMinusLowDb: -10,
  maxHighMinusLowDb: 6,
  maxDeviationPct: 2.5,
  minPeakRatioDb: 6,
  minToneFraction: 0.75,
};

export const MASK_THRESHOLDS: Readonly<MaskThresholds> = {
  minLevelDbm0: -45,
  maxTwistDb: 20,
  minToneFraction: 0.3,
};

/** Thresholds turned into linear ratios once, so the per-window test has no logs or powers. */
export class WindowClassifier {
  private readonly reportMinAmp: number;
  private readonly reportMinRatioHigh: number;
  private readonly reportMaxRatioHigh: number;
  private readonly reportPeakRatio: number;
  private readonly reportMaxDevPct: number;
  private readonly reportMinFraction: number;
  private readonly maskMinAmp: number;
  private readonly maskTwist: number;
  private readonly maskMinFraction: number;

  constructor(report: Readonly<ReportThresholds> = REPORT_THRESHOLDS, mask: Readonly<MaskThresholds> = MASK_THRESHOLDS) {
    this.reportMinAmp = dbm0ToPeak(report.minLevelDbm0);
    this.reportMinRatioHigh = Math.pow(10, report.minHighMinusLowDb / 20);
    this.reportMaxRatioHigh = Math.pow(10, report.maxHighMinusLowDb / 20);
    this.reportPeakRatio = Math.pow(10, report.minPeakRatioDb / 20);
    this.reportMaxDevPct = report.maxDeviationPct;
    this.reportMinFraction = report.minToneFraction;
    this.maskMinAmp = dbm0ToPeak(mask.minLevelDbm0);
    this.maskTwist = Math.pow(10, mask.maxTwistDb / 20);
    this.maskMinFraction = mask.minToneFraction;
  }

  /** The digit code 0–15 (row × 4 + column) if the window passes the REPORT rules, else -1. */
  reportCode(w: DtmfWindow): number {
    const rowAmp = w.rowAmp;
    const colAmp = w.colAmp;
    if (rowAmp < this.reportMinAmp || colAmp < this.reportMinAmp) return -1;
    if (w.toneFraction < this.reportMinFraction) return -1;
    const high = colAmp / rowAmp;
    if (high < this.reportMinRatioHigh || high > this.reportMaxRatioHigh) return -1;
    if (w.rowPeakRatio < this.reportPeakRatio || w.colPeakRatio < this.reportPeakRatio) return -1;
    if (Math.abs(w.deviationPct(w.row)) > this.reportMaxDevPct) return -1;
    if (Math.abs(w.deviationPct(4 + w.col)) > this.reportMaxDevPct) return -1;
    return w.row * 4 + w.col;
  }

  /** True if the window holds anything DTMF-like (the MASK rule). */
  isDtmfLike(w: DtmfWindow): boolean {
    const rowAmp = w.rowAmp;
    const colAmp = w.colAmp;
    if (rowAmp < this.maskMinAmp || colAmp < this.maskMinAmp) return false;
    if (w.toneFraction < this.maskMinFraction) return false;
    return rowAmp < colAmp * this.maskTwist && colAmp < rowAmp * this.maskTwist;
  }
}
