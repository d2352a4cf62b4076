/**
 * Call-progress tones by country (E.180 Suppl. 2 plans) and busy/reorder cadence detection for
 * analog disconnect supervision, which must neither miss busy/reorder nor disturb DTMF detection.
 */
import assert from 'node:assert/strict';
import { CallProgressDetector, type CadenceEvent } from '../../../controller/dsp/call-progress-detector';
import { CallProgressGenerator, COUNTRY_TONES, tonePlan, type CountryCode, type ProgressTone } from '../../../controller/dsp/call-progress-tones';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import type { DtmfDigit } from '../../../controller/dsp/tone-generator';
import { addNoise, digitString, dtmfSequence, g711RoundTrip, msToSamples, speechLike, toneAmplitude } from '../../lib/dsp-signals';

function generate(country: CountryCode, tone: ProgressTone, ms: number, block = 80): Int16Array {
  const gen = new CallProgressGenerator(tonePlan(country, tone));
  const out = new Int16Array(msToSamples(ms));
  for (let i = 0; i < out.length; i += block) gen.fill(out.subarray(i, Math.min(out.length, i + block)));
  return out;
}

function cadences(samples: Int16Array): CadenceEvent[] {
  const events: CadenceEvent[] = [];
  const det = new CallProgressDetector((e) => events.push(e));
  for (let i = 0; i < samples.length; i += 160) det.process(samples.subarray(i, i + 160));
  return events;
}

const COUNTRIES = Object.keys(COUNTRY_TONES) as CountryCode[];

describe('call-progress tones and cadence detection', () => {
  it('generates each plan at its frequencies and cadence (US busy: 480+620 Hz, 500 ms on / 500 ms off)', () => {
    const busy = generate('us', 'busy', 2000);
    assert.ok(toneAmplitude(busy, 0, 4000, 480) > 500 && toneAmplitude(busy, 0, 4000, 620) > 500);
    assert.ok(toneAmplitude(busy, 4000, 8000, 480) < 1, 'silent in the off half');
    assert.ok(toneAmplitude(busy, 8000, 12000, 620) > 500, 'on again after one period');
  });
  it('refuses an unknown country, naming it', () => {
    assert.throws(() => tonePlan('xx', 'busy'), /country "xx" has no tone plan/);
  });
  for (const country of COUNTRIES) {
    it(`${country}: busy is recognised as busy and congestion as reorder, within 4 s, also through G.711`, () => {
      for (const law of [undefined, 'alaw'] as const) {
        const busy = generate(country, 'busy', 5000);
        const cong = generate(country, 'congestion', 5000);
        const b = cadences(law ? g711RoundTrip(busy, law) : busy);
        const c = cadences(law ? g711RoundTrip(cong, law) : cong);
        assert.equal(b.length, 1, `busy events ${JSON.stringify(b)}`);
        assert.equal(b[0]?.kind, 'busy');
        assert.ok((b[0]?.atSample ?? Infinity) <= msToSamples(4000));
        assert.equal(c.length, 1, `congestion events ${JSON.stringify(c)}`);
        assert.equal(c[0]?.kind, 'reorder');
      }
    });
    it(`${country}: dial tone and ringback are not taken for busy`, () => {
      assert.deepEqual(cadences(generate(country, 'dial', 6000)), []);
      assert.deepEqual(cadences(generate(country, 'ringback', 12000)), []);
    });
  }
  it('speech, noise and DTMF keypresses are not taken for busy', () => {
    assert.deepEqual(cadences(speechLike(30_000, 21)), []);
    assert.deepEqual(cadences(addNoise(new Int16Array(msToSamples(5000)), -30, 2)), []);
    const keys = dtmfSequence(('0123456789*#ABCD'.split('') as DtmfDigit[]).map((digit) => ({ digit, durationMs: 100 })), 100).samples;
    assert.deepEqual(cadences(keys), []);
  });
  it('does not interfere with DTMF detection: digits over a busy tone are still detected, and busy still recognised', () => {
    const busy = generate('us', 'busy', 4000);
    const keys = dtmfSequence(('159#'.split('') as DtmfDigit[]).map((digit) => ({ digit, durationMs: 80 })), 120, 200).samples;
    const mixed = Int16Array.from(busy, (v, i) => v + (keys[i] ?? 0));
    assert.equal(digitString(detectDigits(mixed)), '159#');
    assert.equal(cadences(busy)[0]?.kind, 'busy');
  });
});
