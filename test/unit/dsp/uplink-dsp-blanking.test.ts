/**
 * Blanking of the uplink (policy `payments.blankDuringSecurityCode`, docs/payments.md §2): while on,
 * everything that leaves is comfort noise; detection, masking and digit delivery go on underneath.
 * Checked on the G.711-encoded output (what RTP carries): level and correlation with the input.
 */
import assert from 'node:assert/strict';
import { UplinkDsp, type UplinkDigitEvent } from '../../../controller/dsp/uplink-dsp';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { COMFORT_NOISE_DBM0 } from '../../../controller/dsp/replacement';
import { dbm0ToPeak, type DtmfDigit } from '../../../controller/dsp/tone-generator';
import { codeOf, dtmfSequence, g711RoundTrip, msToSamples, speechLike } from '../../lib/dsp-signals';

const BLOCK = 160;

function rms(x: Int16Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Normalised correlation of out[from + lag, to + lag) with inp[from, to). */
function correlation(inp: Int16Array, out: Int16Array, from: number, to: number, lag: number): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = from; i < to; i++) {
    const x = inp[i] as number;
    const y = out[i + lag] as number;
    xy += x * y;
    xx += x * x;
    yy += y * y;
  }
  return xx === 0 || yy === 0 ? 0 : xy / Math.sqrt(xx * yy);
}

/** Comfort noise is at most a few dB over its nominal level (after µ-law). */
const COMFORT_MAX_RMS = dbm0ToPeak(COMFORT_NOISE_DBM0 + 6);

/** Runs `input` through `dsp` in 20 ms blocks; `before(blockStart)` may switch blanking. */
function run(dsp: UplinkDsp, input: Int16Array, before: (at: number) => void = () => undefined): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i += BLOCK) {
    before(i);
    const end = Math.min(input.length, i + BLOCK);
    dsp.process(input.subarray(i, end), out.subarray(i, end));
  }
  return g711RoundTrip(out, 'ulaw');
}

describe('UplinkDsp blanking (policy blankDuringSecurityCode)', () => {
  const speech = speechLike(3000, 7);
  const on = msToSamples(1000);
  const off = msToSamples(2000);

  it('in secure mode: speech before and after leaves, speech while blanked does not (delay line included)', () => {
    const dsp = new UplinkDsp();
    dsp.enterSecure();
    const out = run(dsp, speech, (at) => {
      if (at === on) dsp.setBlanking(true);
      if (at === off) dsp.setBlanking(false);
    });
    const L = dsp.latencySamples;
    assert.equal(L, msToSamples(20));
    assert.equal(dsp.blanking, false);
    // Blanked: input [on, off) leaves at [on + L, off + L): comfort-noise level, no trace of the speech.
    assert.ok(rms(out, on + L, off + L) <= COMFORT_MAX_RMS, `blanked rms ${rms(out, on + L, off + L)}`);
    assert.ok(rms(out, on + L, off + L) > 0, 'comfort noise, not digital silence');
    assert.ok(Math.abs(correlation(speech, out, on, off, L)) < 0.05, `blanked correlation ${correlation(speech, out, on, off, L)}`);
    // Before and after: the speech leaves (delayed by the lookahead, notched, companded).
    assert.ok(correlation(speech, out, msToSamples(100), on, L) > 0.5, `before ${correlation(speech, out, msToSamples(100), on, L)}`);
    assert.ok(correlation(speech, out, off, speech.length - L, L) > 0.5, `after ${correlation(speech, out, off, speech.length - L, L)}`);
    // Outside the blanked range the output is exactly what the uplink sends without blanking.
    const reference = new UplinkDsp();
    reference.enterSecure();
    const ref = run(reference, speech);
    assert.deepEqual(out.subarray(0, on + L), ref.subarray(0, on + L));
    assert.deepEqual(out.subarray(off + L), ref.subarray(off + L));
  });

  it('without blanking the same speech passes all through', () => {
    const dsp = new UplinkDsp();
    dsp.enterSecure();
    const out = run(dsp, speech);
    const L = dsp.latencySamples;
    assert.ok(correlation(speech, out, on, off, L) > 0.5, `correlation ${correlation(speech, out, on, off, L)}`);
  });

  it('digits keyed while blanked are still detected, delivered and masked; nothing of them leaves', () => {
    const keys = '4111#*09'.split('') as DtmfDigit[];
    const seq = dtmfSequence(keys.map((digit) => ({ digit, durationMs: 60 })), 80);
    const digits: UplinkDigitEvent[] = [];
    const dsp = new UplinkDsp({ onDigit: (e) => digits.push(e) });
    dsp.enterSecure();
    dsp.setBlanking(true);
    const out = run(dsp, seq.samples);
    assert.deepEqual(digits.map((d) => d.code), keys.map(codeOf));
    assert.ok(digits.every((d) => d.secure));
    assert.equal(dsp.maskedTones, keys.length, 'the masker still counts every tone for the masking record');
    assert.equal(detectDigits(out).length, 0);
    assert.ok(rms(out, dsp.latencySamples, out.length) <= COMFORT_MAX_RMS);
  });

  it('switched from a digit callback: blanking starts no later than the block holding the key, and ends no earlier than the block holding the next', () => {
    // Speech, a key (blank on), speech, a key (blank off), speech.
    const s1 = speechLike(800, 1);
    const t1 = dtmfSequence([{ digit: '7', durationMs: 60 }], 60, 0).samples;
    const s2 = speechLike(800, 2);
    const t2 = dtmfSequence([{ digit: '3', durationMs: 60 }], 60, 0).samples;
    const s3 = speechLike(800, 3);
    const input = new Int16Array(s1.length + t1.length + s2.length + t2.length + s3.length);
    let o = 0;
    for (const part of [s1, t1, s2, t2, s3]) {
      input.set(part, o);
      o += part.length;
    }
    const switchedAt: number[] = [];
    const dsp = new UplinkDsp({
      onDigit: (e) => {
        switchedAt.push(dsp.position);
        dsp.setBlanking(e.code === codeOf('7'));
      },
    });
    dsp.enterSecure();
    const out = run(dsp, input);
    const L = dsp.latencySamples;
    assert.equal(switchedAt.length, 2);
    const [onAt = 0, offAt = 0] = switchedAt;
    assert.ok(onAt <= s1.length + t1.length && offAt >= s1.length + t1.length + s2.length, `switched at ${onAt}, ${offAt}`);
    // Every sample of the speech between the keys is blanked.
    const s2From = s1.length + t1.length;
    const s2To = s2From + s2.length;
    assert.ok(rms(out, s2From + L, s2To + L) <= COMFORT_MAX_RMS, `s2 rms ${rms(out, s2From + L, s2To + L)}`);
    // Speech before the first key and after the second leaves.
    assert.ok(correlation(input, out, msToSamples(100), s1.length - L, L) > 0.5);
    const s3From = s2To + t2.length;
    assert.ok(correlation(input, out, s3From + msToSamples(50), input.length - L, L) > 0.5);
  });

  it('in normal (transparent) mode it blanks too, with no delay; idempotent switching', () => {
    const dsp = new UplinkDsp();
    dsp.setBlanking(true);
    dsp.setBlanking(true);
    assert.equal(dsp.blanking, true);
    const out = run(dsp, speech, (at) => {
      if (at === off) {
        dsp.setBlanking(false);
        dsp.setBlanking(false);
      }
    });
    assert.equal(dsp.latencySamples, 0);
    assert.ok(rms(out, 0, off) <= COMFORT_MAX_RMS);
    assert.ok(correlation(speech, out, off, speech.length, 0) > 0.95);
  });
});
