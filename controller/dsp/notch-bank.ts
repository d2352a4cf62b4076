/**
 * The secure-mode floor of DESIGN.md §5: eight cascaded second-order notches at the DTMF frequencies
 * (ITU-T Q.23), so that even a tone the masker missed leaves no energy at the frequencies a detector
 * looks at. Speech keeps its intelligibility: each notch is narrow (pole radius `POLE_RADIUS`,
 * -3 dB width ≈ (1 - r)·fs/π ≈ 76 Hz) and unity gain away from it.
 *
 *   H_k(z) = g_k (1 - 2cos ω_k z⁻¹ + z⁻²) / (1 - 2r cos ω_k z⁻¹ + r² z⁻²)
 *
 * g_k normalises the gain at DC and Nyquist to 1 on average. Transposed direct form II in float64;
 * a tiny alternating offset keeps the state out of subnormal numbers when the input is silent.
 */
import { DTMF_FREQS_HZ } from './dtmf-analyser';
import { SAMPLE_RATE } from './tone-generator';

export const POLE_RADIUS = 0.97;

const N = 8;
const B0 = new Float64Array(N);
const B1 = new Float64Array(N);
const A1 = new Float64Array(N);
const A2 = new Float64Array(N);
for (let k = 0; k < N; k++) {
  const w = (2 * Math.PI * (DTMF_FREQS_HZ[k] as number)) / SAMPLE_RATE;
  const c = Math.cos(w);
  const r = POLE_RADIUS;
  const dc = (2 - 2 * c) / (1 - 2 * r * c + r * r);
  const ny = (2 + 2 * c) / (1 + 2 * r * c + r * r);
  const g = 2 / (dc + ny);
  B0[k] = g;
  B1[k] = -2 * c * g;
  A1[k] = -2 * r * c;
  A2[k] = r * r;
}

export class NotchBank {
  private readonly z1 = new Float64Array(N);
  private readonly z2 = new Float64Array(N);
  private flip = 1e-15;

  /** Filters one sample; returns the filtered value (not rounded or clamped). */
  step(x: number): number {
    const z1 = this.z1;
    const z2 = this.z2;
    this.flip = -this.flip;
    let v = x + this.flip;
    for (let k = 0; k < N; k++) {
      const b0 = B0[k] as number;
      const y = b0 * v + (z1[k] as number);
      z1[k] = (B1[k] as number) * v - (A1[k] as number) * y + (z2[k] as number);
      z2[k] = b0 * v - (A2[k] as number) * y;
      v = y;
    }
    return v;
  }

  /**
   * Filters `x[0, n)` in place, one section at a time over the whole block (the state of a section
   * stays in locals: much faster than `step` per sample).
   */
  processBlock(x: Float64Array, n: number): void {
    this.flip = -this.flip;
    const tiny = this.flip;
    for (let i = 0; i < n; i++) x[i] = (x[i] as number) + tiny;
    const z1s = this.z1;
    const z2s = this.z2;
    for (let k = 0; k < N; k++) {
      const b0 = B0[k] as number;
      const b1 = B1[k] as number;
      const a1 = A1[k] as number;
      const a2 = A2[k] as number;
      let z1 = z1s[k] as number;
      let z2 = z2s[k] as number;
      for (let i = 0; i < n; i++) {
        const v = x[i] as number;
        const y = b0 * v + z1;
        z1 = b1 * v - a1 * y + z2;
        z2 = b0 * v - a2 * y;
        x[i] = y;
      }
      z1s[k] = z1;
      z2s[k] = z2;
    }
  }

  reset(): void {
    this.z1.fill(0);
    this.z2.fill(0);
  }
}
