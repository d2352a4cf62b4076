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
 *     S/N        row + column power (corrected for the bin's loss at the measured frequency error)
 *                ≥ 86 % of the window's power: tone at least ~7.9 dB above noise, speech or a third
 *                tone (voiced speech whose harmonics fall on a pair reaches ~77 %; at 82 % synthetic
 *                speech through µ-law gave 1.0 false digit per hour, 28–33 ms long; at 86 % 0.2 per
 *                hour over 10 h, with every Q.24 case still met)
 *   Duration and pause rules (accept ≥ 40 ms, reject < 20 ms; pause ≥ 40 ms) are counted in windows
 *   by the detector (dtmf-detector.ts).
 * - MASK: anything DTMF-like, deliberately loose so that tones too short, too weak, too twisted or too
 *   far off-frequency to count are still replaced: one row and one column bin each ≥ -45 dBm0, within
 *   20 dB of each other, each ≥ 3 dB above the rest of its group, together ≥ 75 % of the window's
 *   power once each is corrected for the bin's loss at the measured frequency error (up to ±4 %,
 *   so a tone 3.5–4 % off still counts). The uplink masks a DTMF-like window together with the
 *   window before it when that one holds the same pair at ≥ 40 % (the onset): a lone window is not
 *   enough, which is what keeps speech and music from being masked (talk-off), unless it is ≥ 92 %
 *   two tones and nothing else (that catches tones of 15–20 ms, and most from 12 ms).
 */
import { DTMF_FREQS_HZ, WINDOW_SAMPLES, type DtmfWindow } from './dtmf-analyser';
import { dbm0ToPeak, SAMPLE_RATE } from './tone-generator';

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
  minPeakRatioDb: number;
  /** Frequency error up to which a bin's amplitude is corrected for its loss, percent. */
  maxCorrectedDeviationPct: number;
  minToneFraction: number;
  /** Fraction at which the window before a DTMF-like one counts as the tone's onset. */
  onsetFraction: number;
}

export const REPORT_THRESHOLDS: Readonly<ReportThresholds> = {
  minLevelDbm0: -36,
  minHighMinusLowDb: -10,
  maxHighMinusLowDb: 6,
  maxDeviationPct: 2.5,
  minPeakRatioDb: 6,
  minToneFraction: 0.86,
};

export const MASK_THRESHOLDS: Readonly<MaskThresholds> = {
  minLevelDbm0: -45,
  maxTwistDb: 20,
  minPeakRatioDb: 3,
  maxCorrectedDeviationPct: 4,
  minToneFraction: 0.75,
  onsetFraction: 0.4,
};

/** sinc of the 102-sample rectangular window at a frequency error of `deviationPct` of `hz`. */
function binGain(hz: number, deviationPct: number): number {
  const x = (Math.PI * hz * deviationPct * WINDOW_SAMPLES) / (100 * SAMPLE_RATE);
  return x === 0 ? 1 : Math.sin(x) / x;
}

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
  private readonly maskPeakRatio: number;
  private readonly maskMaxDevPct: number;
  private readonly maskOnset: number;

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
    this.maskPeakRatio = Math.pow(10, mask.minPeakRatioDb / 20);
    this.maskMaxDevPct = mask.maxCorrectedDeviationPct;
    this.maskOnset = mask.onsetFraction;
  }

  /** The digit code 0–15 (row × 4 + column) if the window passes the REPORT rules, else -1. */
  reportCode(w: DtmfWindow): number {
    const rowAmp = w.rowAmp;
    const colAmp = w.colAmp;
    if (rowAmp < this.reportMinAmp || colAmp < this.reportMinAmp) return -1;
    const high = colAmp / rowAmp;
    if (high < this.reportMinRatioHigh || high > this.reportMaxRatioHigh) return -1;
    if (w.rowPeakRatio < this.reportPeakRatio || w.colPeakRatio < this.reportPeakRatio) return -1;
    const rowDev = w.deviationPct(w.row);
    const colDev = w.deviationPct(4 + w.col);
    if (Math.abs(rowDev) > this.reportMaxDevPct || Math.abs(colDev) > this.reportMaxDevPct) return -1;
    // S/N on amplitudes corrected for the bin's loss at the measured (accepted) frequency error.
    const r = rowAmp / binGain(DTMF_FREQS_HZ[w.row] as number, rowDev);
    const c = colAmp / binGain(DTMF_FREQS_HZ[4 + w.col] as number, colDev);
    if ((r * r + c * c) / 2 < this.reportMinFraction * w.meanSquare) return -1;
    return w.row * 4 + w.col;
  }

  /**
   * How DTMF-like the window is: the corrected power of its strongest row and column as a fraction
   * of the window's power, or -1 if level, twist or selectivity already rule it out. The pair is
   * (w.row, w.col). A window is DTMF-like at ≥ `minToneFraction` (strong) and an onset candidate at
   * ≥ `onsetFraction` (weak).
   */
  dtmfLikeFraction(w: DtmfWindow): number {
    const rowAmp = w.rowAmp;
    const colAmp = w.colAmp;
    if (rowAmp < this.maskMinAmp || colAmp < this.maskMinAmp) return -1;
    if (rowAmp > colAmp * this.maskTwist || colAmp > rowAmp * this.maskTwist) return -1;
    if (w.rowPeakRatio < this.maskPeakRatio || w.colPeakRatio < this.maskPeakRatio) return -1;
    if (w.meanSquare <= 0) return -1;
    const r = this.corrected(rowAmp, w, w.row);
    const c = this.corrected(colAmp, w, 4 + w.col);
    return (r * r + c * c) / 2 / w.meanSquare;
  }

  get maskStrongFraction(): number {
    return this.maskMinFraction;
  }
  get maskOnsetFraction(): number {
    return this.maskOnset;
  }

  private corrected(amp: number, w: DtmfWindow, k: number): number {
    const dev = w.deviationPct(k);
    if (!(Math.abs(dev) <= this.maskMaxDevPct)) return amp;
    return amp / binGain(DTMF_FREQS_HZ[k] as number, dev);
  }
}
