/**
 * Talk-off (DESIGN.md §9: ≤ 1 false digit per hour of speech; masked fraction < 1 %): signals with no
 * DTMF in them — speech-like and music-like synthesis, call-progress tones — give no digit, and in
 * secure mode only a small fraction of them is masked. Real speech (espeak-ng) is in
 * test/interop/dsp/talk-off-speech.test.ts.
 */
import assert from 'node:assert/strict';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { addTones } from '../../../controller/dsp/tone-generator';
import { runUplink } from '../../lib/dsp-run';
import { g711RoundTrip, msToSamples, musicLike, speechLike } from '../../lib/dsp-signals';

function callProgress(components: number[], onMs: number, offMs: number, totalMs: number): Int16Array {
  const out = new Int16Array(msToSamples(totalMs));
  const on = msToSamples(onMs);
  const period = on + msToSamples(offMs);
  for (let at = 0; at < out.length; at += period) {
    addTones(out, at, Math.min(on, out.length - at), components.map((hz) => ({ hz, levelDbm0: -13 })), at);
  }
  return out;
}

describe('talk-off', () => {
  it('speech-like synthesis (2 minutes, linear and G.711): no digit; masked fraction under 1.5 % (adversarial: steady two-formant voices)', () => {
    for (const [seed, law] of [[1, undefined], [3, 'ulaw'], [5, 'alaw']] as const) {
      const raw = speechLike(40_000, seed);
      const sig = law ? g711RoundTrip(raw, law) : raw;
      assert.deepEqual(detectDigits(sig), [], `seed ${seed}`);
      const run = runUplink(sig);
      const pct = (100 * run.dsp.maskedSamples) / sig.length;
      assert.ok(pct < 1.5, `seed ${seed}: ${pct.toFixed(2)} % masked`);
      assert.deepEqual(run.digits, []);
    }
  });

  it('music-like synthesis (2 minutes): no digit; masked fraction under 1 %', () => {
    for (const seed of [2, 4, 6]) {
      const sig = musicLike(40_000, seed);
      assert.deepEqual(detectDigits(sig), [], `seed ${seed}`);
      const pct = (100 * runUplink(sig).dsp.maskedSamples) / sig.length;
      assert.ok(pct < 1, `seed ${seed}: ${pct.toFixed(2)} % masked`);
    }
  });

  const progress: [string, number[], number, number][] = [
    ['North American dial tone 350+440 Hz', [350, 440], 3000, 0],
    ['North American ringback 440+480 Hz', [440, 480], 2000, 4000],
    ['North American busy 480+620 Hz', [480, 620], 500, 500],
    ['North American reorder 480+620 Hz', [480, 620], 250, 250],
    ['UK ringback 400+450 Hz', [400, 450], 400, 200],
    ['European 425 Hz busy', [425], 500, 500],
  ];
  for (const [name, hz, onMs, offMs] of progress) {
    it(`${name}: no digit and nothing masked`, () => {
      const sig = callProgress(hz, onMs, offMs, 8000);
      assert.deepEqual(detectDigits(sig), []);
      assert.equal(runUplink(sig).dsp.maskedTones, 0);
    });
  }
  it('special information tone (950, 1400, 1800 Hz in sequence): no digit and nothing masked', () => {
    const sig = new Int16Array(msToSamples(3000));
    for (let at = 0, k = 0; at + msToSamples(330) <= sig.length; at += msToSamples(330), k++) {
      addTones(sig, at, msToSamples(330), [{ hz: [950, 1400, 1800][k % 3] as number, levelDbm0: -13 }], at);
    }
    assert.deepEqual(detectDigits(sig), []);
    assert.equal(runUplink(sig).dsp.maskedTones, 0);
  });
});
