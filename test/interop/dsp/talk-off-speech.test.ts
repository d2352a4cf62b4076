/**
 * Talk-off on real synthetic speech: espeak-ng in several voices and languages, linear and through
 * G.711. No digit may be reported, and in secure mode less than 1 % of the speech may be masked.
 */
import assert from 'node:assert/strict';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import type { DtmfDigit } from '../../../controller/dsp/tone-generator';
import { espeak, hasEspeak, hasMultimon, hasSpanDsp, multimonDetect, requirePeer, spandspDetect } from '../../lib/dsp-peers';
import { runUplink } from '../../lib/dsp-run';
import { dtmfSequence, g711RoundTrip } from '../../lib/dsp-signals';

const TEXT =
  'Thank you for calling. Please hold while I transfer your call to the payment department. ' +
  'Your balance is nine hundred and forty one dollars and twelve cents, due on the twenty third of March. ' +
  'Press one for sales, two for support, or stay on the line for an operator.';

const VOICES = ['en-us', 'en-gb-x-rp', 'en-us+f3', 'de', 'fr', 'es', 'it+m3'];

describe('talk-off on espeak-ng speech (through G.711)', function () {
  this.timeout(120_000);
  beforeEach(function () {
    requirePeer(this, hasEspeak(), 'espeak-ng and sox');
  });

  it(`reports no digit and masks under 1 % in ${VOICES.length} voices, linear, µ-law and A-law`, () => {
    let totalSamples = 0;
    let masked = 0;
    for (const voice of VOICES) {
      const speech = espeak(TEXT, voice);
      assert.ok(speech.length > 8000, `${voice}: espeak produced ${speech.length} samples`);
      for (const sig of [speech, g711RoundTrip(speech, 'ulaw'), g711RoundTrip(speech, 'alaw')]) {
        assert.deepEqual(detectDigits(sig), [], voice);
        const run = runUplink(sig);
        assert.deepEqual(run.digits, [], voice);
        totalSamples += sig.length;
        masked += run.dsp.maskedSamples;
        assert.ok(run.dsp.maskedSamples / sig.length < 0.01, `${voice}: ${((100 * run.dsp.maskedSamples) / sig.length).toFixed(2)} % masked`);
      }
    }
    assert.ok(totalSamples > 8000 * 60, `only ${totalSamples / 8000} s of speech`);
    assert.ok(masked / totalSamples < 0.01);
  });

  it('double talk: keys pressed while the caller talks are masked so that SpanDSP and multimon-ng find nothing', function () {
    requirePeer(this, hasSpanDsp() && hasMultimon(), 'SpanDSP and multimon-ng');
    const speech = espeak(TEXT, 'en-us');
    const digits = '0123456789*#ABCD'.split('') as DtmfDigit[];
    for (const gain of [0.25, 0.5, 1]) {
      const keys = dtmfSequence(digits.map((digit) => ({ digit, durationMs: 80 })), 120).samples;
      const mixed = Int16Array.from(keys, (v, i) => Math.max(-32768, Math.min(32767, v + gain * (speech[i % speech.length] as number))));
      assert.ok(spandspDetect(mixed).length >= 10, `gain ${gain}: the keys are audible to SpanDSP before masking`);
      const out = runUplink(mixed).output;
      assert.deepEqual(spandspDetect(out), [], `gain ${gain}`);
      assert.deepEqual(spandspDetect(out, { twistDb: 14, reverseTwistDb: 14, thresholdDbm0: -50 }), [], `gain ${gain} relaxed`);
      assert.equal(multimonDetect(out), '', `gain ${gain}`);
    }
  });
});
