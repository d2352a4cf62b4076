/**
 * Packet loss concealment in the linear domain, after ITU-T G.711 Appendix I (pitch-period
 * repetition with attenuation):
 *
 * - History: the last 48.75 ms (390 samples at 8 kHz) of what was played.
 * - On the first erased sample the pitch period P is estimated by normalised cross-correlation of
 *   the last 10 ms against lags 5-15 ms (40-120 samples, Appendix I §I.2.2); the synthetic signal
 *   repeats the last P samples. A lag is rounded to the sample, so for a tone whose period is not
 *   a whole number of samples the lag with the best match is picked among the multiples in range.
 * - Attenuation (§I.2.4): full level for the first 10 ms, then the gain falls linearly by 20 % per
 *   10 ms, reaching silence 60 ms into the erasure.
 * - Recovery (§I.2.5): the first real samples after an erasure are cross-faded with the continued
 *   synthetic signal over 4 ms + P/4, so the join has no step.
 *
 * Not done (deliberately simpler than Appendix I): the 3.75 ms output delay used there to
 * overlap-add the start of the erasure, and widening the repeated span to 2-3 periods after 10 ms.
 */

export const PLC_HISTORY_SAMPLES = 390;
const MIN_LAG = 40;
const MAX_LAG = 120;
const CORR_LEN = 80;
const FULL_LEVEL_SAMPLES = 80;
const FADE_TO_ZERO_SAMPLES = 480;

export class PacketLossConcealer {
  private readonly history = new Int16Array(PLC_HISTORY_SAMPLES);
  private filled = 0;
  private pitch = MIN_LAG;
  private erased = 0;
  private phase = 0;
  private readonly pitchBuf = new Int16Array(MAX_LAG);
  /** Cross-fade out of an erasure still to apply to the next real samples, and its length. */
  private fadeLeft = 0;
  private fadeLen = 0;
  /** Offset between the predicted next sample and the first synthetic one, removed over P/4 samples. */
  private joinOffset = 0;

  /** True while an erasure is in progress (the next real samples will be cross-faded). */
  get concealing(): boolean {
    return this.erased > 0;
  }

  /** Erased samples so far in the current erasure. */
  get erasedSamples(): number {
    return this.erased;
  }

  /** Real audio that is being played: keeps the history, cross-fades out of an erasure. Modifies `block` in place. */
  real(block: Int16Array): void {
    if (this.erased > 0 && this.fadeLeft === 0) {
      this.fadeLen = 32 + (this.pitch >> 2);
      this.fadeLeft = this.fadeLen;
    }
    // The cross-fade may span blocks (an erasure can end one sample before a block boundary).
    const n = Math.min(block.length, this.fadeLeft);
    for (let i = 0; i < n; i++) {
      const w = (this.fadeLen - this.fadeLeft + 1) / (this.fadeLen + 1);
      const synth = this.next();
      block[i] = Math.round(w * (block[i] as number) + (1 - w) * synth);
      this.fadeLeft--;
    }
    if (this.fadeLeft === 0) this.erased = 0;
    this.remember(block);
  }

  /** Fills `out` with concealment for erased samples (continuing an erasure already begun). */
  conceal(out: Int16Array): void {
    this.fadeLeft = 0;
    if (this.erased === 0) this.startErasure();
    for (let i = 0; i < out.length; i++) out[i] = this.next();
    this.remember(out);
  }

  /** Forgets the history (the stream restarted). */
  reset(): void {
    this.history.fill(0);
    this.filled = 0;
    this.erased = 0;
    this.fadeLeft = 0;
  }

  private startErasure(): void {
    this.pitch = this.filled >= CORR_LEN + MAX_LAG ? this.estimatePitch() : MIN_LAG;
    const start = PLC_HISTORY_SAMPLES - this.pitch;
    for (let i = 0; i < this.pitch; i++) this.pitchBuf[i] = this.history[start + i] as number;
    // Appendix I: the last quarter period is overlap-added with the quarter before the period, so
    // the wrap from the end of the repeated period to its start is continuous.
    const quarter = this.pitch >> 2;
    for (let j = 0; j < quarter; j++) {
      const w = (j + 1) / (quarter + 1);
      const i = this.pitch - quarter + j;
      this.pitchBuf[i] = Math.round((1 - w) * (this.pitchBuf[i] as number) + w * (this.history[start - quarter + j] as number));
    }
    this.phase = 0;
    // Stands in for Appendix I's overlap-add at the start: the jump from the last real sample to
    // the repeated period is spread over the first P/4 synthetic samples.
    const last = this.history[PLC_HISTORY_SAMPLES - 1] as number;
    const before = this.history[PLC_HISTORY_SAMPLES - 2] as number;
    this.joinOffset = 2 * last - before - (this.pitchBuf[0] as number);
  }

  /** One synthetic sample with the Appendix I attenuation. */
  private next(): number {
    const e = this.erased++;
    const joinLen = this.pitch >> 2;
    const v = (this.pitchBuf[this.phase] as number) + (e < joinLen ? (this.joinOffset * (joinLen - e)) / joinLen : 0);
    this.phase = this.phase + 1 === this.pitch ? 0 : this.phase + 1;
    if (e < FULL_LEVEL_SAMPLES) return Math.max(-32768, Math.min(32767, Math.round(v)));
    if (e >= FADE_TO_ZERO_SAMPLES) return 0;
    const gain = 1 - (e - FULL_LEVEL_SAMPLES) / (FADE_TO_ZERO_SAMPLES - FULL_LEVEL_SAMPLES);
    return Math.max(-32768, Math.min(32767, Math.round(v * gain)));
  }

  private remember(block: Int16Array): void {
    const n = block.length;
    if (n >= PLC_HISTORY_SAMPLES) {
      this.history.set(block.subarray(n - PLC_HISTORY_SAMPLES));
    } else {
      this.history.copyWithin(0, n);
      this.history.set(block, PLC_HISTORY_SAMPLES - n);
    }
    this.filled = Math.min(PLC_HISTORY_SAMPLES, this.filled + n);
  }

  /** Lag in [40, 120] maximising the normalised correlation of the last 10 ms (hot loop: kept flat). */
  private estimatePitch(): number {
    const h = this.history;
    const end = PLC_HISTORY_SAMPLES;
    let best = MIN_LAG;
    let bestScore = -Infinity;
    for (let lag = MIN_LAG; lag <= MAX_LAG; lag++) {
      let xy = 0;
      let yy = 0;
      for (let i = end - CORR_LEN; i < end; i++) {
        const x = h[i] as number;
        const y = h[i - lag] as number;
        xy += x * y;
        yy += y * y;
      }
      const score = yy > 0 ? xy / Math.sqrt(yy) : 0;
      if (score > bestScore * 1.0001) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }
}
