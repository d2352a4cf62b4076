import assert from 'node:assert/strict';
import { CallerAudio, KEY_GAP_MS, KEY_TONE_MS } from '../../../hw/sim/caller-audio';
import { SeededRandom } from '../../../hw/sim/seeded-random';
import { dominantHz, goertzel, rms } from '../../lib/sim-signal';
import { DTMF_COL_HZ, DTMF_ROW_HZ } from '../../../controller/dsp/tone-generator';

function playAll(audio: CallerAudio, maxSamples = 800_000): Int16Array {
  const chunks: Int16Array[] = [];
  const block = new Int16Array(80);
  let total = 0;
  while (!audio.done && total < maxSamples) {
    audio.read(block);
    chunks.push(block.slice());
    total += 80;
  }
  const out = new Int16Array(total);
  chunks.forEach((c, i) => out.set(c, i * 80));
  return out;
}

const noWav = (): Int16Array => {
  throw new Error('no wav');
};

describe('sim caller audio: keypresses with human timing', () => {
  it('times each key within 60–120 ms of tone and 150–600 ms of gap (Q.24-valid, human pace)', () => {
    const audio = new CallerAudio({ items: [{ keys: '4111111111111111' }], rng: new SeededRandom(5), loadWav: noWav });
    playAll(audio);
    assert.equal(audio.keypresses.length, 16);
    for (const k of audio.keypresses) {
      assert.ok(k.toneSamples >= KEY_TONE_MS.min * 8 && k.toneSamples <= KEY_TONE_MS.max * 8, `tone ${k.toneSamples} samples`);
      assert.ok(k.gapSamples >= KEY_GAP_MS.min * 8 && k.gapSamples <= KEY_GAP_MS.max * 8, `gap ${k.gapSamples} samples`);
    }
    const tones = new Set(audio.keypresses.map((k) => k.toneSamples));
    assert.ok(tones.size > 3, 'tone lengths vary from key to key');
  });

  it('is reproducible for a seed', () => {
    const a = new CallerAudio({ items: [{ keys: '123' }], rng: new SeededRandom(9), loadWav: noWav });
    const b = new CallerAudio({ items: [{ keys: '123' }], rng: new SeededRandom(9), loadWav: noWav });
    assert.deepEqual(playAll(a), playAll(b));
    assert.deepEqual(a.keypresses, b.keypresses);
  });

  it('places real DTMF pairs (Q.23) where the timing says, silence in the gaps, after earlier items', () => {
    const audio = new CallerAudio({ items: [{ silence: 100 }, { keys: '5#', toneMs: 80, gapMs: 200 }], rng: new SeededRandom(1), loadWav: noWav });
    const pcm = playAll(audio);
    const [k5, kHash] = audio.keypresses;
    assert.ok(k5 && kHash);
    assert.equal(k5.startSample, 800);
    assert.equal(k5.toneSamples, 640);
    assert.equal(kHash.startSample, 800 + 640 + 1600);
    // '5' = 770 + 1336 Hz; '#' = 941 + 1477 Hz.
    const at = (k: typeof k5, hz: number): number => goertzel(pcm, hz, k.startSample, k.startSample + k.toneSamples);
    assert.ok(at(k5, DTMF_ROW_HZ[1]) > 100 * at(k5, DTMF_ROW_HZ[3]));
    assert.ok(at(k5, DTMF_COL_HZ[1]) > 100 * at(k5, DTMF_COL_HZ[2]));
    assert.ok(at(kHash, DTMF_ROW_HZ[3]) > 100 * at(kHash, DTMF_ROW_HZ[1]));
    assert.equal(dominantHz(pcm, kHash.startSample, kHash.startSample + kHash.toneSamples, 1) > 1400, true);
    assert.equal(rms(pcm, k5.startSample + k5.toneSamples, kHash.startSample), 0);
    assert.equal(rms(pcm, 0, 800), 0);
  });

  it('plays a WAV item as given and then reports done', () => {
    const wav = Int16Array.from({ length: 200 }, (_, i) => i * 10);
    const audio = new CallerAudio({ items: [{ wav: 'x.wav' }], rng: new SeededRandom(1), loadWav: () => wav });
    const out = playAll(audio);
    assert.deepEqual(out.subarray(0, 200), wav);
    assert.equal(rms(out, 200), 0);
    assert.equal(audio.done, true);
  });

  it('refuses a non-DTMF key naming its position, never the keys', () => {
    const audio = new CallerAudio({ items: [{ keys: '12x4' }], rng: new SeededRandom(1), loadWav: noWav });
    assert.throws(() => audio.read(new Int16Array(80)), (err: Error) => /key 3 of 4/.test(err.message) && !/12x4/.test(err.message));
  });
});

describe('sim caller audio: long speech', () => {
  it('renders a long speech item piece by piece to its exact length', () => {
    const audio = new CallerAudio({ items: [{ speech: 4500 }, { silence: 100 }], rng: new SeededRandom(2), loadWav: noWav });
    const out = playAll(audio);
    assert.equal(out.length, 4600 * 8);
    assert.ok(rms(out, 0, 4500 * 8) > 100);
    assert.ok(rms(out, 4000 * 8, 4500 * 8) > 0, 'the last piece is there');
    assert.equal(rms(out, 4500 * 8), 0);
  });
});
