/**
 * The DTMF analyser: one bank of eight Goertzel filters (ITU-T Q.23 frequencies) shared by the
 * detector (report, Q.24 rules) and the masker (mask anything DTMF-like).
 *
 * Contract:
 * - Input is 8 kHz linear 16-bit audio in any block size; blocks are cut into half-windows of
 *   `HOP_SAMPLES` (51) samples aligned on absolute sample indices, so results do not depend on how
 *   the caller blocks the stream.
 * - After every half-window a window of `WINDOW_SAMPLES` (102, 12.75 ms, SpanDSP's block length)
 *   made of the last two halves is analysed into `DtmfWindow` (no allocation: one object reused).
 * - Per filter the two halves are kept as complex values. Their coherent sum is the 102-sample DFT
 *   bin (selectivity: a neighbouring DTMF frequency 73 Hz away is -22 dB); the phase advance from the
 *   first half to the second gives the tone's real frequency (unambiguous to ±78 Hz), which is how
 *   the detector tells ±1.5 % (accept) from ±3.5 % (reject), Q.24 / ES 201 235-3.
 *
 *   y = s[M-1] - e^{-jω} s[M-2] = e^{jω(M-1)} Σ x[m] e^{-jωm}        (per half, M = 51)
 *   F = H_prev + e^{-jωM} H_cur  (|F| = 102-sample DFT magnitude)
 *   Δf = wrap(arg(H_cur · conj(H_prev)) - ωM) · fs / (2πM)
 */
import { DTMF_COL_HZ, DTMF_ROW_HZ, SAMPLE_RATE } from './tone-generator';

export const HOP_SAMPLES = 51;
export const WINDOW_SAMPLES = 2 * HOP_SAMPLES;

/** The eight frequencies in filter order: rows 0–3 then columns 4–7. */
export const DTMF_FREQS_HZ: readonly number[] = [...DTMF_ROW_HZ, ...DTMF_COL_HZ];

const OMEGA = DTMF_FREQS_HZ.map((f) => (2 * Math.PI * f) / SAMPLE_RATE);
const COEF = Float64Array.from(OMEGA, (w) => 2 * Math.cos(w));
const COS_W = Float64Array.from(OMEGA, (w) => Math.cos(w));
const SIN_W = Float64Array.from(OMEGA, (w) => Math.sin(w));
/** e^{-jωM}: rotation bringing the second half's phase reference to the window start. */
const ROT_RE = Float64Array.from(OMEGA, (w) => Math.cos(w * HOP_SAMPLES));
const ROT_IM = Float64Array.from(OMEGA, (w) => -Math.sin(w * HOP_SAMPLES));
const PHASE_ADVANCE = Float64Array.from(OMEGA, (w) => w * HOP_SAMPLES);

/** Features of the latest 102-sample window. Amplitudes are sine peak values in 16-bit linear units. */
export class DtmfWindow {
  /** Absolute index one past the window's last sample. */
  endSample = 0;
  /** Peak amplitude estimate at each of the eight frequencies over the whole window. */
  readonly amp = new Float64Array(8);
  /** Mean square of the window (all frequencies). */
  meanSquare = 0;
  /** Strongest row 0–3 and column 0–3. */
  row = 0;
  col = 0;
  /** Strongest / second strongest amplitude in each group (≥ 1). */
  rowPeakRatio = 1;
  colPeakRatio = 1;
  /** Power in the strongest row and column bins as a fraction of the window's power (0–1+). */
  toneFraction = 0;

  /** Complex half-window outputs, previous half and current half, per filter. */
  readonly prevRe = new Float64Array(8);
  readonly prevIm = new Float64Array(8);
  readonly curRe = new Float64Array(8);
  readonly curIm = new Float64Array(8);
  /** Complex 102-sample bins (phase referred to the window start) of this window and the one before. */
  readonly fullRe = new Float64Array(8);
  readonly fullIm = new Float64Array(8);
  readonly lastFullRe = new Float64Array(8);
  readonly lastFullIm = new Float64Array(8);

  get rowAmp(): number {
    return this.amp[this.row] as number;
  }
  get colAmp(): number {
    return this.amp[4 + this.col] as number;
  }

  /** Frequency deviation of the signal in filter `k` (0–7) from its nominal frequency, percent. */
  deviationPct(k: number): number {
    // Phase advance between this window and the previous one (51 samples earlier): whole windows
    // suppress the other group's tone 6 dB better than halves do.
    const pr = this.lastFullRe[k] as number;
    const pi = this.lastFullIm[k] as number;
    const cr = this.fullRe[k] as number;
    const ci = this.fullIm[k] as number;
    // arg(cur · conj(prev))
    const angle = Math.atan2(ci * pr - cr * pi, cr * pr + ci * pi);
    let r = angle - (PHASE_ADVANCE[k] as number);
    r -= 2 * Math.PI * Math.round(r / (2 * Math.PI));
    const dfHz = (r * SAMPLE_RATE) / (2 * Math.PI * HOP_SAMPLES);
    return (100 * dfHz) / (DTMF_FREQS_HZ[k] as number);
  }
}

export class DtmfAnalyser {
  /** Reused result; valid after `consume` returned with `ready` true. */
  readonly window = new DtmfWindow();
  /** True when the last `consume` call completed a half-window (and so a new window). */
  ready = false;
  /** Absolute index of the next sample to be consumed. */
  position = 0;

  private readonly s1 = new Float64Array(8);
  private readonly s2 = new Float64Array(8);
  private inHalf = 0;
  private energyCur = 0;
  private energyPrev = 0;

  /**
   * Consumes samples of `input` from index `from` up to `to` (exclusive), stopping early right after
   * a half-window completes. Returns the index of the first sample not consumed.
   * The hot loop keeps the eight filters in locals (unrolled on purpose, for speed).
   */
  consume(input: Int16Array, from: number, to: number): number {
    const need = HOP_SAMPLES - this.inHalf;
    const end = to - from > need ? from + need : to;
    const s1 = this.s1;
    const s2 = this.s2;
    const c = COEF;
    const c0 = c[0] as number, c1 = c[1] as number, c2 = c[2] as number, c3 = c[3] as number;
    const c4 = c[4] as number, c5 = c[5] as number, c6 = c[6] as number, c7 = c[7] as number;
    let a0 = s1[0] as number, a1 = s1[1] as number, a2 = s1[2] as number, a3 = s1[3] as number;
    let a4 = s1[4] as number, a5 = s1[5] as number, a6 = s1[6] as number, a7 = s1[7] as number;
    let b0 = s2[0] as number, b1 = s2[1] as number, b2 = s2[2] as number, b3 = s2[3] as number;
    let b4 = s2[4] as number, b5 = s2[5] as number, b6 = s2[6] as number, b7 = s2[7] as number;
    let energy = this.energyCur;
    for (let i = from; i < end; i++) {
      const x = input[i] as number;
      energy += x * x;
      let t = x + c0 * a0 - b0; b0 = a0; a0 = t;
      t = x + c1 * a1 - b1; b1 = a1; a1 = t;
      t = x + c2 * a2 - b2; b2 = a2; a2 = t;
      t = x + c3 * a3 - b3; b3 = a3; a3 = t;
      t = x + c4 * a4 - b4; b4 = a4; a4 = t;
      t = x + c5 * a5 - b5; b5 = a5; a5 = t;
      t = x + c6 * a6 - b6; b6 = a6; a6 = t;
      t = x + c7 * a7 - b7; b7 = a7; a7 = t;
    }
    s1[0] = a0; s1[1] = a1; s1[2] = a2; s1[3] = a3; s1[4] = a4; s1[5] = a5; s1[6] = a6; s1[7] = a7;
    s2[0] = b0; s2[1] = b1; s2[2] = b2; s2[3] = b3; s2[4] = b4; s2[5] = b5; s2[6] = b6; s2[7] = b7;
    this.energyCur = energy;
    const n = end - from;
    this.inHalf += n;
    this.position += n;
    this.ready = this.inHalf === HOP_SAMPLES;
    if (this.ready) this.completeHalf();
    return end;
  }

  /** Resets all state (a new stream starting at absolute sample `position`). */
  reset(position = 0): void {
    this.s1.fill(0);
    this.s2.fill(0);
    this.window.prevRe.fill(0);
    this.window.prevIm.fill(0);
    this.window.curRe.fill(0);
    this.window.curIm.fill(0);
    this.window.fullRe.fill(0);
    this.window.fullIm.fill(0);
    this.window.lastFullRe.fill(0);
    this.window.lastFullIm.fill(0);
    this.inHalf = 0;
    this.energyCur = 0;
    this.energyPrev = 0;
    this.position = position;
    this.ready = false;
  }

  private completeHalf(): void {
    const w = this.window;
    const s1 = this.s1;
    const s2 = this.s2;
    const ampScale = 2 / WINDOW_SAMPLES;
    for (let k = 0; k < 8; k++) {
      const a = s1[k] as number;
      const b = s2[k] as number;
      w.prevRe[k] = w.curRe[k] as number;
      w.prevIm[k] = w.curIm[k] as number;
      const re = a - (COS_W[k] as number) * b;
      const im = (SIN_W[k] as number) * b;
      w.curRe[k] = re;
      w.curIm[k] = im;
      const rr = ROT_RE[k] as number;
      const ri = ROT_IM[k] as number;
      const fRe = (w.prevRe[k] as number) + rr * re - ri * im;
      const fIm = (w.prevIm[k] as number) + rr * im + ri * re;
      w.lastFullRe[k] = w.fullRe[k] as number;
      w.lastFullIm[k] = w.fullIm[k] as number;
      w.fullRe[k] = fRe;
      w.fullIm[k] = fIm;
      w.amp[k] = ampScale * Math.sqrt(fRe * fRe + fIm * fIm);
      s1[k] = 0;
      s2[k] = 0;
    }
    const total = this.energyPrev + this.energyCur;
    w.meanSquare = total / WINDOW_SAMPLES;
    this.energyPrev = this.energyCur;
    this.energyCur = 0;
    this.inHalf = 0;
    w.endSample = this.position;
    pickPeaks(w);
  }
}

function pickPeaks(w: DtmfWindow): void {
  const amp = w.amp;
  let best = 0;
  let second = 0;
  let row = 0;
  for (let k = 0; k < 4; k++) {
    const a = amp[k] as number;
    if (a > best) {
      second = best;
      best = a;
      row = k;
    } else if (a > second) second = a;
  }
  w.row = row;
  w.rowPeakRatio = second > 0 ? best / second : best > 0 ? Infinity : 1;
  const rowAmp = best;
  best = 0;
  second = 0;
  let col = 0;
  for (let k = 0; k < 4; k++) {
    const a = amp[4 + k] as number;
    if (a > best) {
      second = best;
      best = a;
      col = k;
    } else if (a > second) second = a;
  }
  w.col = col;
  w.colPeakRatio = second > 0 ? best / second : best > 0 ? Infinity : 1;
  const tonePower = (rowAmp * rowAmp + best * best) / 2;
  w.toneFraction = w.meanSquare > 0 ? tonePower / w.meanSquare : 0;
}
