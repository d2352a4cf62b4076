/** The secure-mode notch bank (DESIGN.md §5 defence in depth): deep at the eight DTMF frequencies, near unity elsewhere in the voice band. */
import assert from 'node:assert/strict';
import { DTMF_FREQS_HZ } from '../../../controller/dsp/dtmf-analyser';
import { NotchBank } from '../../../controller/dsp/notch-bank';

/** Steady-state gain (dB) of a fresh bank at `hz`, measured on a sine after the transient. */
function gainDb(hz: number, blockwise: boolean): number {
  const bank = new NotchBank();
  const n = 8000;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 10000 * Math.sin((2 * Math.PI * hz * i) / 8000);
  const y = Float64Array.from(x);
  if (blockwise) for (let i = 0; i < n; i += 160) bank.processBlock(y.subarray(i, i + 160), 160);
  else for (let i = 0; i < n; i++) y[i] = bank.step(x[i] as number);
  let px = 0;
  let py = 0;
  for (let i = n / 2; i < n; i++) {
    px += (x[i] as number) ** 2;
    py += (y[i] as number) ** 2;
  }
  return 10 * Math.log10(py / px);
}

describe('NotchBank', () => {
  it('removes each DTMF frequency by at least 60 dB (steady state)', () => {
    for (const hz of DTMF_FREQS_HZ) assert.ok(gainDb(hz, true) < -60, `${hz} Hz: ${gainDb(hz, true).toFixed(1)} dB`);
  });
  it('attenuates ±1.5 % off-frequency tones by at least 4 dB (notch width ≈ 76 Hz)', () => {
    for (const hz of DTMF_FREQS_HZ) for (const k of [0.985, 1.015]) assert.ok(gainDb(hz * k, true) < -4, `${hz * k} Hz`);
  });
  it('keeps the rest of the voice band within 2 dB (300, 500, 1100, 2000, 3000 Hz)', () => {
    for (const hz of [300, 500, 1100, 2000, 3000]) assert.ok(Math.abs(gainDb(hz, true)) < 2, `${hz} Hz: ${gainDb(hz, true).toFixed(2)} dB`);
  });
  it('gives the same result block-wise and sample by sample', () => {
    for (const hz of [697, 1000, 1633]) assert.ok(Math.abs(gainDb(hz, true) - gainDb(hz, false)) < 0.01);
  });
});
