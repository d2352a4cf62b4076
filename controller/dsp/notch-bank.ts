/**
 * The secure-mode floor of DESIGN.md §5: eight cascaded second-order notches at the DTMF frequencies
 * (ITU-T Q.23), so that even a tone the masker missed leaves no energy at the frequencies a detector
 * looks at. Speech keeps its intelligibility: each notch is narrow (pole radius `POLE_RADIUS`,
 * -3 dB width ≈ (1 - r)·fs/π ≈ 76 Hz) and unity gain away from it.
 *
 *   H_k(z) = g_k (1 - 2cos ω_k z⁻¹ + z⁻²) / (1 - 2r cos ω_k z⁻¹ + r² z⁻²)
 *
 * g_k normalises the gain at DC and Nyquist to 1 on average; the product of the g_k is applied once
 * at the end. Direct form I in float64, the eight sections unrolled with their shared histories in
 * locals (3 multiplications per section and sample); a tiny alternating offset keeps the state out of
 * subnormal numbers when the input is silent.
 */
import { DTMF_FREQS_HZ } from './dtmf-analyser';
import { SAMPLE_RATE } from './tone-generator';

export const POLE_RADIUS = 0.97;

const N = 8;
/** Per section: m = -2cos ω (numerator), a1 = -2r cos ω, a2 = r² (denominator). */
const M = new Float64Array(N);
const A1 = new Float64Array(N);
const A2 = new Float64Array(N);
let gain = 1;
for (let k = 0; k < N; k++) {
  const w = (2 * Math.PI * (DTMF_FREQS_HZ[k] as number)) / SAMPLE_RATE;
  const c = Math.cos(w);
  const r = POLE_RADIUS;
  const dc = (2 - 2 * c) / (1 - 2 * r * c + r * r);
  const ny = (2 + 2 * c) / (1 + 2 * r * c + r * r);
  gain *= 2 / (dc + ny);
  M[k] = -2 * c;
  A1[k] = -2 * r * c;
  A2[k] = r * r;
}
const GAIN = gain;

export class NotchBank {
  /** Histories of the nine section boundaries (input, between sections, output): [last, one before] each. */
  private readonly h = new Float64Array(2 * (N + 1));
  private flip = 1e-15;
  private readonly one = new Float64Array(1);

  /** Filters one sample; returns the filtered value (not rounded or clamped). */
  step(x: number): number {
    this.one[0] = x;
    this.processBlock(this.one, 1);
    return this.one[0];
  }

  /** Filters `x[0, n)` in place. The hot loop is unrolled over the eight sections on purpose (speed). */
  processBlock(x: Float64Array, n: number): void {
    this.run(x, n, undefined);
  }

  /** Filters `x[0, n)` into `out[0, n)`, rounded half up and clamped to 16 bits (x is left as it was). */
  processBlockTo(x: Float64Array, out: Int16Array, n: number): void {
    this.run(x, n, out);
  }

  private run(x: Float64Array, n: number, out: Int16Array | undefined): void {
    const h = this.h;
    let p0 = h[0] as number, q0 = h[1] as number, p1 = h[2] as number, q1 = h[3] as number;
    let p2 = h[4] as number, q2 = h[5] as number, p3 = h[6] as number, q3 = h[7] as number;
    let p4 = h[8] as number, q4 = h[9] as number, p5 = h[10] as number, q5 = h[11] as number;
    let p6 = h[12] as number, q6 = h[13] as number, p7 = h[14] as number, q7 = h[15] as number;
    let p8 = h[16] as number, q8 = h[17] as number;
    const m0 = M[0] as number, m1 = M[1] as number, m2 = M[2] as number, m3 = M[3] as number;
    const m4 = M[4] as number, m5 = M[5] as number, m6 = M[6] as number, m7 = M[7] as number;
    const a10 = A1[0] as number, a11 = A1[1] as number, a12 = A1[2] as number, a13 = A1[3] as number;
    const a14 = A1[4] as number, a15 = A1[5] as number, a16 = A1[6] as number, a17 = A1[7] as number;
    const a20 = A2[0] as number, a21 = A2[1] as number, a22 = A2[2] as number, a23 = A2[3] as number;
    const a24 = A2[4] as number, a25 = A2[5] as number, a26 = A2[6] as number, a27 = A2[7] as number;
    this.flip = -this.flip;
    const tiny = this.flip;
    for (let i = 0; i < n; i++) {
      const u0 = (x[i] as number) + tiny;
      const u1 = u0 + m0 * p0 + q0 - a10 * p1 - a20 * q1;
      q0 = p0; p0 = u0;
      const u2 = u1 + m1 * p1 + q1 - a11 * p2 - a21 * q2;
      q1 = p1; p1 = u1;
      const u3 = u2 + m2 * p2 + q2 - a12 * p3 - a22 * q3;
      q2 = p2; p2 = u2;
      const u4 = u3 + m3 * p3 + q3 - a13 * p4 - a23 * q4;
      q3 = p3; p3 = u3;
      const u5 = u4 + m4 * p4 + q4 - a14 * p5 - a24 * q5;
      q4 = p4; p4 = u4;
      const u6 = u5 + m5 * p5 + q5 - a15 * p6 - a25 * q6;
      q5 = p5; p5 = u5;
      const u7 = u6 + m6 * p6 + q6 - a16 * p7 - a26 * q7;
      q6 = p6; p6 = u6;
      const u8 = u7 + m7 * p7 + q7 - a17 * p8 - a27 * q8;
      q7 = p7; p7 = u7;
      q8 = p8; p8 = u8;
      const y = GAIN * u8;
      if (out === undefined) x[i] = y;
      else out[i] = y >= 32767 ? 32767 : y <= -32768 ? -32768 : ((y + 32768.5) | 0) - 32768;
    }
    h[0] = p0; h[1] = q0; h[2] = p1; h[3] = q1; h[4] = p2; h[5] = q2; h[6] = p3; h[7] = q3;
    h[8] = p4; h[9] = q4; h[10] = p5; h[11] = q5; h[12] = p6; h[13] = q6; h[14] = p7; h[15] = q7;
    h[16] = p8; h[17] = q8;
  }

  reset(): void {
    this.h.fill(0);
  }
}
