/** multimon-ng's DTMF decoder as a second independent detector: it finds every digit in the original and none in masked output. */
import assert from 'node:assert/strict';
import type { DtmfDigit } from '../../../controller/dsp/tone-generator';
import { hasMultimon, multimonDetect, requirePeer } from '../../lib/dsp-peers';
import { runUplink } from '../../lib/dsp-run';
import { addNoise, dtmfSequence, g711RoundTrip } from '../../lib/dsp-signals';

const DIGITS = '0123456789*#ABCD'.split('') as DtmfDigit[];

describe('multimon-ng interop (independent DTMF decoder)', function () {
  this.timeout(60_000);
  beforeEach(function () {
    requirePeer(this, hasMultimon(), 'multimon-ng and sox');
  });

  it('decodes the original keypad sequence (the check is live)', () => {
    const seq = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 80 })), 80);
    assert.equal(multimonDetect(seq.samples), DIGITS.join(''));
  });

  for (const style of ['flat', 'silence', 'noise'] as const) {
    it(`finds zero digits in masked output (style ${style}; plain, weak, long, µ-law, noisy)`, () => {
      const sets = [
        dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 80 })), 80).samples,
        dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 80, rowLevelDbm0: -28 })), 80).samples,
        dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 300 })), 80).samples,
        g711RoundTrip(dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60 })), 60).samples, 'ulaw'),
        addNoise(dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60 })), 60).samples, -25, 3),
      ];
      sets.forEach((samples, i) => {
        const out = runUplink(samples, { style }).output;
        assert.equal(multimonDetect(out), '', `set ${i}`);
      });
    });
  }
});
