/**
 * Call-progress tones by country, generated toward the card side (dial, ringback, busy, congestion),
 * after the national plans collected in ITU-T E.180 Supplement 2 (frequencies in Hz, cadences in ms
 * as on/off pairs repeated; an empty cadence is continuous). Levels are per tone, dBm0.
 *
 * `CallProgressGenerator` fills blocks of any size, keeping phase and cadence position across calls,
 * with no allocation per block.
 */
import { dbm0ToPeak, SAMPLE_RATE } from './tone-generator';
import { TonewallError } from '../../hw/base/errors';

export type ProgressTone = 'dial' | 'ringback' | 'busy' | 'congestion';
export type CountryCode = 'us' | 'gb' | 'de' | 'fr' | 'eu';

export interface TonePlan {
  frequenciesHz: readonly number[];
  levelDbm0: number;
  /** on, off, on, off … in ms; empty = continuous. */
  cadenceMs: readonly number[];
}

export const COUNTRY_TONES: Readonly<Record<CountryCode, Readonly<Record<ProgressTone, TonePlan>>>> = {
  // North America (also ANSI T1.401 precise tones)
  us: {
    dial: { frequenciesHz: [350, 440], levelDbm0: -13, cadenceMs: [] },
    ringback: { frequenciesHz: [440, 480], levelDbm0: -19, cadenceMs: [2000, 4000] },
    busy: { frequenciesHz: [480, 620], levelDbm0: -24, cadenceMs: [500, 500] },
    congestion: { frequenciesHz: [480, 620], levelDbm0: -24, cadenceMs: [250, 250] },
  },
  gb: {
    dial: { frequenciesHz: [350, 440], levelDbm0: -13, cadenceMs: [] },
    ringback: { frequenciesHz: [400, 450], levelDbm0: -19, cadenceMs: [400, 200, 400, 2000] },
    busy: { frequenciesHz: [400], levelDbm0: -19, cadenceMs: [375, 375] },
    congestion: { frequenciesHz: [400], levelDbm0: -19, cadenceMs: [400, 350, 225, 525] },
  },
  de: {
    dial: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [] },
    ringback: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [1000, 4000] },
    busy: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [480, 480] },
    congestion: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [240, 240] },
  },
  fr: {
    dial: { frequenciesHz: [440], levelDbm0: -13, cadenceMs: [] },
    ringback: { frequenciesHz: [440], levelDbm0: -13, cadenceMs: [1500, 3500] },
    busy: { frequenciesHz: [440], levelDbm0: -13, cadenceMs: [500, 500] },
    congestion: { frequenciesHz: [440], levelDbm0: -13, cadenceMs: [250, 250] },
  },
  // CEPT recommendation (ETSI TR 101 041): 425 Hz
  eu: {
    dial: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [] },
    ringback: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [1000, 4000] },
    busy: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [500, 500] },
    congestion: { frequenciesHz: [425], levelDbm0: -13, cadenceMs: [250, 250] },
  },
};

export function tonePlan(country: string, tone: ProgressTone): TonePlan {
  const plans = (COUNTRY_TONES as Record<string, Record<ProgressTone, TonePlan> | undefined>)[country];
  if (!plans) throw new TonewallError('EDSP_COUNTRY', `country "${country}" has no tone plan; expected one of ${Object.keys(COUNTRY_TONES).join(', ')}`);
  return plans[tone];
}

export class CallProgressGenerator {
  private readonly amp: number;
  private readonly step: Float64Array;
  private readonly phase: Float64Array;
  private readonly cadence: Int32Array;
  private segment = 0;
  private inSegment = 0;

  constructor(readonly plan: TonePlan) {
    this.amp = dbm0ToPeak(plan.levelDbm0);
    this.step = Float64Array.from(plan.frequenciesHz, (hz) => (2 * Math.PI * hz) / SAMPLE_RATE);
    this.phase = new Float64Array(plan.frequenciesHz.length);
    this.cadence = Int32Array.from(plan.cadenceMs, (ms) => Math.round((ms * SAMPLE_RATE) / 1000));
  }

  /** Fills `out` with the next samples of the tone (silence during the off parts of the cadence). */
  fill(out: Int16Array): void {
    const k = this.step.length;
    for (let i = 0; i < out.length; i++) {
      let on = true;
      if (this.cadence.length > 0) {
        if (this.inSegment >= (this.cadence[this.segment] as number)) {
          this.segment = (this.segment + 1) % this.cadence.length;
          this.inSegment = 0;
        }
        on = (this.segment & 1) === 0;
        this.inSegment++;
      }
      let v = 0;
      for (let j = 0; j < k; j++) {
        const p = (this.phase[j] as number) + (this.step[j] as number);
        this.phase[j] = p > 2 * Math.PI ? p - 2 * Math.PI : p;
        if (on) v += Math.sin(p);
      }
      out[i] = Math.round(v * this.amp);
    }
  }
}
