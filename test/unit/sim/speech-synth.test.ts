import assert from 'node:assert/strict';
import { synthesizeSpeech } from '../../../hw/sim/speech-synth';
import { SeededRandom } from '../../../hw/sim/seeded-random';
import { peakEnergyFraction, rms } from '../../lib/sim-signal';

describe('sim speech synthesiser', () => {
  const speech = synthesizeSpeech(6000, new SeededRandom(7));
  const frame = 160; // 20 ms
  const frameRms: number[] = [];
  for (let i = 0; i + frame <= speech.length; i += frame) frameRms.push(rms(speech, i, i + frame));

  it('produces exactly the requested duration at 8 kHz', () => {
    assert.equal(speech.length, 48000);
  });

  it('is not silent: the loudest frames are near the -20 dBm0 target (RMS ~1611)', () => {
    const loud = [...frameRms].sort((a, b) => b - a).slice(0, 20);
    const mean = loud.reduce((a, b) => a + b, 0) / loud.length;
    assert.ok(mean > 800 && mean < 8000, `loud-frame RMS ${mean.toFixed(0)} outside 800..8000`);
  });

  it('has pauses and syllable-rate amplitude modulation (quiet and loud 20 ms frames)', () => {
    const peak = Math.max(...frameRms);
    const quiet = frameRms.filter((r) => r < peak * 0.05).length;
    const loud = frameRms.filter((r) => r > peak * 0.3).length;
    assert.ok(quiet >= frameRms.length * 0.15, `only ${quiet} of ${frameRms.length} frames are quiet`);
    assert.ok(loud >= frameRms.length * 0.15, `only ${loud} of ${frameRms.length} frames are loud`);
    // Count loud bursts (syllables): between 3 and 8 per second for speech.
    let bursts = 0;
    let inBurst = false;
    for (const r of frameRms) {
      if (!inBurst && r > peak * 0.3) {
        bursts++;
        inBurst = true;
      } else if (inBurst && r < peak * 0.1) inBurst = false;
    }
    assert.ok(bursts >= 6 && bursts <= 48, `${bursts} syllable bursts in 6 s`);
  });

  it('is not a single tone: energy spreads over many frequencies in voiced frames', () => {
    const peak = Math.max(...frameRms);
    let voiced = 0;
    let tonal = 0;
    for (let f = 0; f < frameRms.length; f++) {
      if ((frameRms[f] ?? 0) < peak * 0.3) continue;
      voiced++;
      if (peakEnergyFraction(speech, f * frame, (f + 1) * frame) > 0.6) tonal++;
    }
    assert.ok(voiced > 10);
    assert.ok(tonal < voiced * 0.2, `${tonal} of ${voiced} voiced frames look like a pure tone`);
  });

  it('is reproducible for a seed and differs between seeds', () => {
    assert.deepEqual(synthesizeSpeech(500, new SeededRandom(3)), synthesizeSpeech(500, new SeededRandom(3)));
    assert.notDeepEqual(synthesizeSpeech(500, new SeededRandom(3)), synthesizeSpeech(500, new SeededRandom(4)));
  });
});
