/**
 * Busy / reorder (congestion) cadence detection for analog disconnect supervision: an FXO line whose
 * far end hung up hears busy or reorder tone, and the line is then released.
 *
 * Independent of the DTMF detector (its own filters at the call-progress frequencies of
 * call-progress-tones.ts, 20 ms blocks), so neither can disturb the other.
 *
 * Per 160-sample block: "on" when the two strongest call-progress bins hold ≥ 60 % of the power at
 * ≥ -40 dBm0, "quiet" below -45 dBm0, otherwise "other" (speech, noise): two such blocks in a row reset the cadence (one is a block
 * straddling an on/off edge).
 * On/off segments form cycles; after CYCLES_NEEDED cycles that repeat (each like the one before, or
 * like the one two before, for two-part cadences such as the UK's congestion tone) within 25 %:
 *   period 600–1200 ms, one-part cadence → 'busy';  period < 600 ms or two-part cadence → 'reorder'.
 * One event per tone episode; the detector re-arms after "other" audio or 2 s without a cycle.
 */
import { SAMPLE_RATE, dbm0ToPeak } from './tone-generator';

export type CadenceKind = 'busy' | 'reorder';

export interface CadenceEvent {
  kind: CadenceKind;
  /** Absolute sample index at which the cadence was recognised. */
  atSample: number;
}

export const CP_BLOCK_SAMPLES = 160;
export const CP_FREQS_HZ: readonly number[] = [350, 400, 425, 440, 450, 480, 620];
const CYCLES_NEEDED = 3;
const BLOCK_MS = (CP_BLOCK_SAMPLES * 1000) / SAMPLE_RATE;
const REARM_MS = 2000;

const COEF = Float64Array.from(CP_FREQS_HZ, (hz) => 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE));
const ON_MIN_MEAN_SQUARE = dbm0ToPeak(-40) ** 2 / 2;
const QUIET_MEAN_SQUARE = dbm0ToPeak(-45) ** 2 / 2;

type BlockClass = 'on' | 'quiet' | 'other';

function similar(a: number, b: number): boolean {
  return Math.abs(a - b) <= 0.25 * Math.max(a, b);
}

export class CallProgressDetector {
  position = 0;
  private readonly s1 = new Float64Array(CP_FREQS_HZ.length);
  private readonly s2 = new Float64Array(CP_FREQS_HZ.length);
  private inBlock = 0;
  private energy = 0;
  private current: BlockClass = 'other';
  private runMs = 0;
  private onMs = 0;
  /** Completed cycles as on, off pairs in ms (most recent last, at most 2 × (CYCLES_NEEDED + 2)). */
  private readonly cycles: number[] = [];
  private reported = false;
  private sinceCycleMs = 0;
  private otherRun = 0;

  constructor(private readonly onCadence: (event: CadenceEvent) => void) {}

  process(input: Int16Array): void {
    const n = CP_FREQS_HZ.length;
    for (let i = 0; i < input.length; i++) {
      const x = input[i] as number;
      this.energy += x * x;
      for (let k = 0; k < n; k++) {
        const s0 = x + (COEF[k] as number) * (this.s1[k] as number) - (this.s2[k] as number);
        this.s2[k] = this.s1[k] as number;
        this.s1[k] = s0;
      }
      this.position++;
      if (++this.inBlock === CP_BLOCK_SAMPLES) this.endBlock();
    }
  }

  private endBlock(): void {
    const meanSquare = this.energy / CP_BLOCK_SAMPLES;
    let best = 0;
    let second = 0;
    for (let k = 0; k < CP_FREQS_HZ.length; k++) {
      const a = this.s1[k] as number;
      const b = this.s2[k] as number;
      const power = a * a + b * b - (COEF[k] as number) * a * b;
      const amp = (2 * Math.sqrt(Math.max(0, power))) / CP_BLOCK_SAMPLES;
      if (amp > best) {
        second = best;
        best = amp;
      } else if (amp > second) second = amp;
    }
    this.s1.fill(0);
    this.s2.fill(0);
    this.inBlock = 0;
    this.energy = 0;
    const tonePower = (best * best + second * second) / 2;
    const cls: BlockClass =
      meanSquare < QUIET_MEAN_SQUARE ? 'quiet' : meanSquare >= ON_MIN_MEAN_SQUARE && tonePower >= 0.6 * meanSquare ? 'on' : 'other';
    this.classify(cls);
  }

  private classify(cls: BlockClass): void {
    this.sinceCycleMs += BLOCK_MS;
    if (cls === 'other') {
      // One block straddling an on/off edge is partly tone: it continues the segment. Two in a row is not tone.
      if (++this.otherRun >= 2) this.reset();
      else this.runMs += BLOCK_MS;
      return;
    }
    this.otherRun = 0;
    if (cls === this.current) {
      this.runMs += BLOCK_MS;
    } else {
      if (this.current === 'on') this.onMs = this.runMs;
      else if (this.current === 'quiet' && this.onMs > 0) this.addCycle(this.onMs, this.runMs);
      this.current = cls;
      this.runMs = BLOCK_MS;
    }
    if (this.sinceCycleMs > REARM_MS) {
      this.cycles.length = 0;
      this.reported = false;
    }
  }

  private addCycle(onMs: number, offMs: number): void {
    this.sinceCycleMs = 0;
    this.cycles.push(onMs, offMs);
    if (this.cycles.length > 2 * (CYCLES_NEEDED + 2)) this.cycles.splice(0, 2);
    if (this.reported) return;
    const kind = this.recognise();
    if (kind) {
      this.reported = true;
      this.onCadence({ kind, atSample: this.position });
    }
  }

  private recognise(): CadenceKind | undefined {
    const c = this.cycles;
    const count = c.length / 2;
    if (count < CYCLES_NEEDED) return undefined;
    const on = (i: number): number => c[2 * i] as number;
    const off = (i: number): number => c[2 * i + 1] as number;
    const last = count - 1;
    let onePart = true;
    for (let i = last; i > last - (CYCLES_NEEDED - 1); i--) if (!similar(on(i), on(i - 1)) || !similar(off(i), off(i - 1))) onePart = false;
    if (onePart) {
      const period = on(last) + off(last);
      if (!similar(on(last), off(last)) && on(last) > 2 * off(last)) return undefined;
      if (period >= 600 && period <= 1200) return 'busy';
      if (period >= 300 && period < 600) return 'reorder';
      return undefined;
    }
    if (count < CYCLES_NEEDED + 1) return undefined;
    for (let i = last; i > last - CYCLES_NEEDED + 1; i--) if (!similar(on(i), on(i - 2)) || !similar(off(i), off(i - 2))) return undefined;
    const period = on(last) + off(last) + on(last - 1) + off(last - 1);
    return period <= 2400 ? 'reorder' : undefined;
  }

  private reset(): void {
    this.current = 'other';
    this.runMs = 0;
    this.onMs = 0;
    this.cycles.length = 0;
    this.reported = false;
  }
}
