/**
 * Tone synthesis at 8 kHz: DTMF digits (ITU-T Q.23 frequency pairs) toward the PSTN, and the
 * building block for call-progress tones.
 *
 * Level convention (ITU-T G.711 / O.41): 0 dBm0 is a sine of RMS 3.14 dB below µ-law full scale;
 * as 16-bit linear, a 0 dBm0 sine has a peak amplitude of 22,785 (µ-law) — we use that value for
 * both laws (A-law's 0 dBm0 is within 0.1 dB of it).
 */

import { TonewallError } from '../../hw/base/errors';

export const SAMPLE_RATE = 8000;

/** Peak amplitude of a 0 dBm0 sine in 16-bit linear. */
export const DBM0_PEAK = 22785;

/** Q.23: the low (row) group and the high (column) group, Hz. */
export const DTMF_ROW_HZ = [697, 770, 852, 941] as const;
export const DTMF_COL_HZ = [1209, 1336, 1477, 1633] as const;
export const DTMF_DIGITS = '123A456B789C*0#D';

export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

export function isDtmfDigit(c: string): c is DtmfDigit {
  return c.length === 1 && DTMF_DIGITS.includes(c);
}

/** The (row, column) frequencies of a digit. */
export function dtmfFrequencies(digit: DtmfDigit): { rowHz: number; colHz: number } {
  const i = DTMF_DIGITS.indexOf(digit);
  return { rowHz: DTMF_ROW_HZ[i >> 2] as number, colHz: DTMF_COL_HZ[i & 3] as number };
}

export function dbm0ToPeak(levelDbm0: number): number {
  return DBM0_PEAK * Math.pow(10, levelDbm0 / 20);
}

export interface ToneComponent {
  hz: number;
  levelDbm0: number;
}

/**
 * Adds `count` samples of the sum of `components` into `out` starting at `offset`, continuing the
 * phase from `startSample` (so a tone can be generated block by block without clicks).
 * Values are clamped to 16 bits.
 */
export function addTones(out: Int16Array, offset: number, count: number, components: readonly ToneComponent[], startSample = 0): void {
  const amps = components.map((c) => dbm0ToPeak(c.levelDbm0));
  const ws = components.map((c) => (2 * Math.PI * c.hz) / SAMPLE_RATE);
  for (let i = 0; i < count; i++) {
    const n = startSample + i;
    let v = out[offset + i] ?? 0;
    for (let k = 0; k < ws.length; k++) v += (amps[k] as number) * Math.sin((ws[k] as number) * n);
    out[offset + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
  }
}

export interface DtmfToneOptions {
  /** Tone duration in ms (Q.24: ≥ 40 ms is accepted by receivers). */
  durationMs: number;
  /** Level of the low-group tone, dBm0 (typical sender: -6 to -10). */
  rowLevelDbm0?: number;
  /** Level of the high-group tone, dBm0 (senders pre-emphasise it by ~2 dB). */
  colLevelDbm0?: number;
  /** Frequency error applied to both tones, percent (for conformance tests). */
  deviationPct?: number;
}

/** One DTMF digit as 16-bit linear samples. */
export function dtmfTone(digit: DtmfDigit, options: DtmfToneOptions): Int16Array {
  const { rowHz, colHz } = dtmfFrequencies(digit);
  const k = 1 + (options.deviationPct ?? 0) / 100;
  const n = Math.round((options.durationMs * SAMPLE_RATE) / 1000);
  const out = new Int16Array(n);
  addTones(out, 0, n, [
    { hz: rowHz * k, levelDbm0: options.rowLevelDbm0 ?? -8 },
    { hz: colHz * k, levelDbm0: options.colLevelDbm0 ?? -6 },
  ]);
  return out;
}

/** Rise and fall of a generated DTMF tone, ms (raised cosine: keeps the spectrum within the band). */
export const DTMF_RAMP_MS = 2;

/**
 * A block-based DTMF source toward the PSTN, for RFC 4733 events from the agent side: `start(code)`
 * when an event begins, `stop()` when it ends (the tone finishes its ramp), `fill(out)` per block.
 * `code` is row × 4 + column (RFC 4733 events 0–15 map through DTMF_DIGITS). Levels default to
 * -8 dBm0 (low group) and -6 dBm0 (high group). No allocation per block.
 */
export class DtmfToneSource {
  private rowStep = 0;
  private colStep = 0;
  private rowPhase = 0;
  private colPhase = 0;
  private env = 0;
  private on = false;
  private readonly rowAmp: number;
  private readonly colAmp: number;
  private readonly envStep = 1 / ((DTMF_RAMP_MS * SAMPLE_RATE) / 1000);

  constructor(rowLevelDbm0 = -8, colLevelDbm0 = -6) {
    this.rowAmp = dbm0ToPeak(rowLevelDbm0);
    this.colAmp = dbm0ToPeak(colLevelDbm0);
  }

  /** True while a tone (or its fall) is being generated. */
  get active(): boolean {
    return this.on || this.env > 0;
  }

  start(code: number): void {
    if (!Number.isInteger(code) || code < 0 || code > 15) {
      throw new TonewallError('EDSP_DIGIT', `DTMF code ${code} is outside 0–15`);
    }
    this.rowStep = (2 * Math.PI * (DTMF_ROW_HZ[code >> 2] as number)) / SAMPLE_RATE;
    this.colStep = (2 * Math.PI * (DTMF_COL_HZ[code & 3] as number)) / SAMPLE_RATE;
    if (this.env === 0) {
      this.rowPhase = 0;
      this.colPhase = 0;
    }
    this.on = true;
  }

  stop(): void {
    this.on = false;
  }

  /** Overwrites `out` with the next samples (silence when idle). */
  fill(out: Int16Array): void {
    for (let i = 0; i < out.length; i++) {
      if (this.on) this.env = Math.min(1, this.env + this.envStep);
      else this.env = Math.max(0, this.env - this.envStep);
      if (this.env === 0) {
        out[i] = 0;
        continue;
      }
      this.rowPhase += this.rowStep;
      this.colPhase += this.colStep;
      if (this.rowPhase > 2 * Math.PI) this.rowPhase -= 2 * Math.PI;
      if (this.colPhase > 2 * Math.PI) this.colPhase -= 2 * Math.PI;
      const shape = 0.5 - 0.5 * Math.cos(Math.PI * this.env);
      out[i] = Math.round(shape * (this.rowAmp * Math.sin(this.rowPhase) + this.colAmp * Math.sin(this.colPhase)));
    }
  }
}
