/**
 * Signal measurements for the simulator's tests: RMS, Goertzel power at one frequency, and the
 * dominant frequency of a block. Plain loops over 16-bit linear samples at 8 kHz.
 */
export function rms(x: Int16Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] ?? 0) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Power of `hz` over x[from, to) (Goertzel), normalised so a full sine of amplitude A gives A²/4·N²-ish / N². */
export function goertzel(x: Int16Array, hz: number, from = 0, to = x.length): number {
  const w = (2 * Math.PI * hz) / 8000;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = (x[i] ?? 0) + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const n = Math.max(1, to - from);
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (n * n);
}

/** The frequency (in `stepHz` steps over 100–3900 Hz) with the most power in x[from, to). */
export function dominantHz(x: Int16Array, from = 0, to = x.length, stepHz = 20): number {
  let best = 0;
  let bestP = -1;
  for (let f = 100; f <= 3900; f += stepHz) {
    const p = goertzel(x, f, from, to);
    if (p > bestP) {
      bestP = p;
      best = f;
    }
  }
  return best;
}

/** Fraction of the block's energy (sum over a frequency grid) that lies in its strongest bin ±1. */
export function peakEnergyFraction(x: Int16Array, from = 0, to = x.length, stepHz = 20): number {
  const ps: number[] = [];
  for (let f = 100; f <= 3900; f += stepHz) ps.push(goertzel(x, f, from, to));
  let total = 0;
  let peakIdx = 0;
  ps.forEach((p, i) => {
    total += p;
    if (p > (ps[peakIdx] ?? 0)) peakIdx = i;
  });
  const near = (ps[peakIdx - 1] ?? 0) + (ps[peakIdx] ?? 0) + (ps[peakIdx + 1] ?? 0);
  return total > 0 ? near / total : 0;
}
