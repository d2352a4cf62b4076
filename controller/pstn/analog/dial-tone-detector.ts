/**
 * Dial-tone detection before an FXO dials out (ETSI ES 201 970 §5: the CPE waits for dial tone after
 * seizure; Telcordia GR-506 / ETSI TR 101 041: dial tone is a continuous tone of 350 + 440 Hz (US),
 * 425 Hz (most of Europe), 350 + 450 Hz (UK) or 400 Hz (some exchanges)).
 *
 * Per 160-sample block (20 ms at 8 kHz), Goertzel filters at DIAL_FREQS_HZ: a block is "tone" when its
 * level is at least -30 dBm0 and the two strongest filters hold at least 60 % of its power. Dial tone
 * is recognised after `continuousMs` of tone blocks in a row (default 300 ms). Busy and reorder
 * (480 + 620 Hz) fall outside these filters and are left to the cadence detector.
 * Pure: samples in, a boolean out.
 */
const SAMPLE_RATE = 8000;
export const DT_BLOCK_SAMPLES = 160;
export const DIAL_FREQS_HZ: readonly number[] = [350, 400, 425, 440, 450];
/** -30 dBm0 as mean square of 16-bit samples (0 dBm0 = peak 22785, G.711 digital milliwatt). */
const MIN_MEAN_SQUARE = (22785 * 10 ** (-30 / 20)) ** 2 / 2;
const COEF = Float64Array.from(DIAL_FREQS_HZ, (hz) => 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE));

export class DialToneDetector {
  private readonly s1 = new Float64Array(DIAL_FREQS_HZ.length);
  private readonly s2 = new Float64Array(DIAL_FREQS_HZ.length);
  private inBlock = 0;
  private energy = 0;
  private runBlocks = 0;
  private heard = false;
  private readonly blocksNeeded: number;

  constructor(continuousMs = 300) {
    this.blocksNeeded = Math.max(1, Math.ceil((continuousMs * SAMPLE_RATE) / 1000 / DT_BLOCK_SAMPLES));
  }

  /** True once dial tone has been heard (stays true). */
  get detected(): boolean {
    return this.heard;
  }

  /** Feeds linear 16-bit samples; returns `detected`. */
  process(samples: Int16Array): boolean {
    const n = DIAL_FREQS_HZ.length;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i] as number;
      this.energy += x * x;
      for (let k = 0; k < n; k++) {
        const s0 = x + (COEF[k] as number) * (this.s1[k] as number) - (this.s2[k] as number);
        this.s2[k] = this.s1[k] as number;
        this.s1[k] = s0;
      }
      if (++this.inBlock === DT_BLOCK_SAMPLES) this.endBlock();
    }
    return this.heard;
  }

  private endBlock(): void {
    const total = this.energy;
    let best = 0;
    let second = 0;
    for (let k = 0; k < DIAL_FREQS_HZ.length; k++) {
      const a = this.s1[k] as number;
      const b = this.s2[k] as number;
      // |X(f)|² from the Goertzel state; 2|X|²/N is the tone's share of Σx² for a tone at f.
      const power = (2 * (a * a + b * b - (COEF[k] as number) * a * b)) / DT_BLOCK_SAMPLES;
      if (power > best) {
        second = best;
        best = power;
      } else if (power > second) second = power;
    }
    const tone = total / DT_BLOCK_SAMPLES >= MIN_MEAN_SQUARE && best + second >= 0.6 * total;
    this.runBlocks = tone ? this.runBlocks + 1 : 0;
    if (this.runBlocks >= this.blocksNeeded) this.heard = true;
    this.s1.fill(0);
    this.s2.fill(0);
    this.inBlock = 0;
    this.energy = 0;
  }
}
