/**
 * Leakage of masked audio, measured without any detector (DESIGN.md §5, §9): in secure mode the
 * energy at the eight DTMF frequencies in and around every masked tone is ≥ 50 dB below the tone,
 * and the strongest row and column frequencies of the masked audio say nothing about the digit.
 */
import assert from 'node:assert/strict';
import { DTMF_FREQS_HZ } from '../../../controller/dsp/dtmf-analyser';
import { dtmfFrequencies, type DtmfDigit } from '../../../controller/dsp/tone-generator';
import type { CompandingLaw } from '../../../controller/media/g711';
import { runUplink } from '../../lib/dsp-run';
import { addNoise, dtmfSequence, g711RoundTrip, msToSamples, prng, toneAmplitude } from '../../lib/dsp-signals';

const DIGITS = '0123456789*#ABCD'.split('') as DtmfDigit[];
const AROUND = msToSamples(20);

/** DFT energy (|X|²) of x[from, to) at hz. */
function energy(x: Int16Array, from: number, to: number, hz: number): number {
  const n = to - from;
  return ((toneAmplitude(x, from, to, hz) * n) / 2) ** 2;
}

function worstLeakDb(input: Int16Array, output: Int16Array, starts: number[], ends: number[], lag: number): number {
  let worst = -Infinity;
  starts.forEach((s, t) => {
    const e = ends[t] as number;
    const { rowHz } = dtmfFrequencies(DIGITS[t % 16] as DtmfDigit);
    const ref = energy(input, s, e, rowHz);
    for (const hz of DTMF_FREQS_HZ) {
      const leak = energy(output, s - AROUND + lag, e + AROUND + lag, hz);
      worst = Math.max(worst, 10 * Math.log10(leak / ref));
    }
  });
  return worst;
}

describe('masking leakage (detector-independent)', () => {
  for (const style of ['flat', 'silence', 'noise'] as const) {
    for (const law of [undefined, 'ulaw', 'alaw'] as (CompandingLaw | undefined)[]) {
      it(`${style}, ${law ?? 'linear'}: DTMF-frequency energy in and 20 ms around every masked tone ≥ 50 dB below the tone`, () => {
        const seq = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 70, rowLevelDbm0: -6 })), 90);
        const input = law ? g711RoundTrip(seq.samples, law) : seq.samples;
        const run = runUplink(input, { style });
        assert.equal(run.dsp.maskedTones, 16);
        const worst = worstLeakDb(input, run.output, seq.starts, seq.ends, run.dsp.latencySamples);
        assert.ok(worst <= -50, `worst leakage ${worst.toFixed(1)} dB`);
      });
    }
  }

  it('holds at 10 ms lookahead, in noise, and for weak and twisted tones', () => {
    const specs = [
      { rowLevelDbm0: -25 },
      { rowLevelDbm0: -3, twistDb: -12 },
      { rowLevelDbm0: -14, twistDb: 8 },
      { deviationPct: 3 },
    ];
    for (const spec of specs) {
      const seq = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60, ...spec })), 90);
      for (const lookaheadMs of [10, 20]) {
        const run = runUplink(seq.samples, { lookaheadMs });
        const worst = worstLeakDb(seq.samples, run.output, seq.starts, seq.ends, run.dsp.latencySamples);
        assert.ok(worst <= -50, `${JSON.stringify(spec)} lookahead ${lookaheadMs}: ${worst.toFixed(1)} dB`);
      }
    }
    const noisy = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60 })), 90);
    const input = addNoise(noisy.samples, -30, 11);
    const run = runUplink(input);
    assert.equal(run.dsp.maskedTones, 16);
  });

  it('masks tones too short to report: 15 and 18 ms at ≥ 50 dB; 10 ms tones are left to the notch bank at ≥ 40 dB', () => {
    for (const [durationMs, limitDb] of [[15, -50], [18, -50], [10, -40]] as const) {
      const seq = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs })), 90);
      const run = runUplink(seq.samples);
      const worst = worstLeakDb(seq.samples, run.output, seq.starts, seq.ends, run.dsp.latencySamples);
      assert.ok(worst <= limitDb, `${durationMs} ms: ${worst.toFixed(1)} dB`);
    }
  });

  it('a digit cannot be guessed from the strongest row and column frequencies of the masked audio better than chance', () => {
    const rnd = prng(42);
    const trials = 8;
    const order: DtmfDigit[] = [];
    for (let t = 0; t < trials; t++) for (const d of DIGITS) order.push(d);
    // Shuffle so that neighbours differ from trial to trial.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j] as DtmfDigit, order[i] as DtmfDigit];
    }
    const seq = dtmfSequence(order.map((digit) => ({ digit, durationMs: 40 + Math.floor(rnd() * 60) })), 80);
    const run = runUplink(seq.samples);
    const lag = run.dsp.latencySamples;
    let hits = 0;
    order.forEach((digit, t) => {
      const s = (seq.starts[t] as number) + lag;
      const e = (seq.ends[t] as number) + lag;
      const power = DTMF_FREQS_HZ.map((hz) => energy(run.output, s, e, hz));
      const row = power.slice(0, 4).indexOf(Math.max(...power.slice(0, 4)));
      const col = power.slice(4).indexOf(Math.max(...power.slice(4)));
      if (row * 4 + col === DIGITS.indexOf(digit)) hits++;
    });
    // Chance is 1/16 (8 of 128); a recoverable digit would score near 128.
    assert.ok(hits <= 16, `${hits} of ${order.length} digits guessed`);
  });
});
