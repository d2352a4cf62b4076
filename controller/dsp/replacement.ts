/**
 * What the masker puts in place of a masked tone (DESIGN.md §5): the same replacement, with the same
 * timing, for every digit, so nothing about the digit survives.
 *
 * - 'flat' (default): a neutral beep (`BEEP_HZ` at `BEEP_LEVEL_DBM0`, `BEEP_MS` long with raised-cosine
 *   ramps of `BEEP_RAMP_MS`) starting where the masked region starts, then comfort noise for the rest
 *   of the region. The agent hears that a key was pressed. 500 Hz is ≥ 197 Hz from every DTMF
 *   frequency and is not a call-progress frequency.
 * - 'silence': digital zero.
 * - 'noise': comfort noise (white, `COMFORT_NOISE_DBM0`), also used to fill the delay line when it is
 *   engaged and to mute a faulted uplink.
 */
import { dbm0ToPeak, SAMPLE_RATE } from './tone-generator';
import { TonewallError } from '../../hw/base/errors';

export type MaskStyle = 'flat' | 'silence' | 'noise';
export const MASK_STYLES: readonly MaskStyle[] = ['flat', 'silence', 'noise'];

export const BEEP_HZ = 500;
export const BEEP_LEVEL_DBM0 = -16;
export const BEEP_MS = 60;
export const BEEP_RAMP_MS = 5;
export const COMFORT_NOISE_DBM0 = -55;

const BEEP = buildBeep();

function buildBeep(): Float64Array {
  const n = Math.round((BEEP_MS * SAMPLE_RATE) / 1000);
  const ramp = Math.round((BEEP_RAMP_MS * SAMPLE_RATE) / 1000);
  const peak = dbm0ToPeak(BEEP_LEVEL_DBM0);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const edge = Math.min(i, n - 1 - i);
    const env = edge >= ramp ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp);
    out[i] = peak * env * Math.sin((2 * Math.PI * BEEP_HZ * i) / SAMPLE_RATE);
  }
  return out;
}

export function parseMaskStyle(value: string): MaskStyle {
  if ((MASK_STYLES as readonly string[]).includes(value)) return value as MaskStyle;
  throw new TonewallError('EDSP_STYLE', `mask style "${value}" is not one of ${MASK_STYLES.join(', ')}`);
}

/** A source of replacement samples. `begin()` at the start of each masked region. */
export class ReplacementSource {
  private beepAt = BEEP.length;
  private seed: number;
  /** Uniform noise of the comfort level: rms = peak/√2, uniform in ±a has rms a/√3. */
  private readonly noiseScale = (dbm0ToPeak(COMFORT_NOISE_DBM0) / Math.SQRT2) * Math.sqrt(3) * 2 / 4294967296;

  constructor(
    readonly style: MaskStyle,
    seed = 0x2545f491,
  ) {
    this.seed = seed >>> 0 || 1;
  }

  begin(): void {
    this.beepAt = 0;
  }

  /** The next sample of a masked region. */
  next(): number {
    if (this.style === 'silence') return 0;
    if (this.style === 'flat' && this.beepAt < BEEP.length) return BEEP[this.beepAt++] as number;
    return this.comfort();
  }

  /** One comfort-noise sample (xorshift32, white). */
  comfort(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return (this.seed - 2147483648) * this.noiseScale;
  }
}
