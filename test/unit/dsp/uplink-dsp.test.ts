/**
 * The uplink DSP behind the UplinkProcessor seam (DESIGN.md §5): transparent normal mode, the delay
 * line engaged by secure mode and given back at a quiet moment, masking, digits only to the callback,
 * and failing closed.
 */
import assert from 'node:assert/strict';
import { UplinkDsp, DRAIN_MAX_SAMPLES, type UplinkDigitEvent } from '../../../controller/dsp/uplink-dsp';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { dbm0ToPeak, type DtmfDigit } from '../../../controller/dsp/tone-generator';
import { NotchBank } from '../../../controller/dsp/notch-bank';
import { runUplink } from '../../lib/dsp-run';
import { addNoise, codeOf, digitString, dtmfSequence, msToSamples } from '../../lib/dsp-signals';

const DIGITS = '0123456789*#ABCD'.split('') as DtmfDigit[];
const keypad = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60 })), 70);

function rms(x: Int16Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

describe('UplinkDsp (DESIGN.md §5 uplink)', () => {
  describe('normal mode, policy transparent', () => {
    it('passes audio through untouched with zero latency and reports digits as not secure', () => {
      const run = runUplink(keypad.samples, { secure: false });
      assert.deepEqual(run.output, keypad.samples);
      assert.equal(run.dsp.latencySamples, 0);
      assert.equal(digitString(run.digits), DIGITS.join(''));
      assert.ok(run.digits.every((d) => d.secure === false));
      assert.equal(run.dsp.maskedTones, 0);
    });
  });

  describe('secure mode', () => {
    const run = runUplink(keypad.samples);
    const L = run.dsp.latencySamples;

    it('adds exactly the lookahead (20 ms by default) and keeps the sample count', () => {
      assert.equal(L, msToSamples(20));
      assert.equal(run.output.length, keypad.samples.length);
    });
    it('starts with comfort noise for the lookahead, not silence and not audio', () => {
      const level = rms(run.output, 0, L);
      assert.ok(level > 0 && level < dbm0ToPeak(-45), `fill rms ${level}`);
    });
    it('delivers every digit to the callback only, as a numeric code with sample positions', () => {
      assert.deepEqual(run.digits.map((d) => d.code), DIGITS.map(codeOf));
      for (const d of run.digits) {
        assert.equal(typeof d.code, 'number');
        assert.equal(d.secure, true);
        assert.ok(d.endSample > d.startSample);
      }
    });
    it('masks every tone: one masked region per key and no digit left in the output', () => {
      assert.equal(run.dsp.maskedTones, DIGITS.length);
      assert.equal(detectDigits(run.output).length, 0);
      assert.equal(run.dsp.outputDigits, 0);
    });
    it('leaves the audio between tones as it was, delayed by the lookahead, apart from the notch bank', () => {
      // Voice-band noise with a slow envelope: audio with nothing DTMF-like in it.
      const speech = addNoise(new Int16Array(msToSamples(1500)), -20, 5).map((v, i) => Math.round(v * (0.6 + 0.4 * Math.sin(i / 700))));
      const out = runUplink(speech, { lookaheadMs: 10 });
      const lag = out.dsp.latencySamples;
      const notch = new NotchBank();
      let worst = 0;
      for (let i = 0; i < speech.length - lag; i++) {
        const expected = Math.max(-32768, Math.min(32767, Math.round(notch.step(speech[i] as number))));
        if (i > 800) worst = Math.max(worst, Math.abs(expected - (out.output[i + lag] as number)));
      }
      assert.equal(out.dsp.maskedTones, 0);
      assert.ok(worst <= 2, `largest difference ${worst}`);
      assert.ok(rms(out.output, lag, speech.length) > 0.7 * rms(speech, 0, speech.length - lag), 'speech keeps its level');
    });
    it('keeps a masking record per secure session: counts only, reset by the next enterSecure', () => {
      const record = run.dsp.maskingRecord;
      assert.deepEqual(record, { maskedTones: 16, maskedSamples: record.maskedSamples, samples: keypad.samples.length, outputDigits: 0, faulted: false });
      assert.ok(record.maskedSamples >= 16 * msToSamples(60) && record.maskedSamples < 0.8 * record.samples, `${record.maskedSamples} of ${record.samples}`);
      assert.ok(Object.values(record).every((v) => typeof v === 'number' || typeof v === 'boolean'));
      const dsp = new UplinkDsp();
      dsp.enterSecure();
      const out = new Int16Array(keypad.samples.length);
      dsp.process(keypad.samples, out);
      dsp.exitSecure();
      for (let i = 0; i < 20; i++) dsp.process(new Int16Array(160), new Int16Array(160));
      dsp.enterSecure();
      assert.equal(dsp.maskingRecord.maskedTones, 0);
      dsp.signalOverrun();
      assert.equal(dsp.maskingRecord.faulted, true);
    });
    it('gives the same output whatever the block size', () => {
      for (const block of [1, 37, 80, 333]) {
        const other = runUplink(keypad.samples, { blockSamples: block }).output;
        const firstDiff = other.findIndex((v, i) => v !== run.output[i]);
        assert.equal(firstDiff, -1, `block ${block} differs at sample ${firstDiff}`);
      }
    });
    for (const style of ['silence', 'noise'] as const) {
      it(`replaces tones with ${style}`, () => {
        const r = runUplink(keypad.samples, { style });
        assert.equal(r.dsp.maskedTones, DIGITS.length);
        assert.equal(detectDigits(r.output).length, 0);
        const start = (keypad.starts[3] as number) + L;
        const level = rms(r.output, start + 80, start + 400);
        if (style === 'silence') assert.ok(level < 2, `rms ${level}`);
        else assert.ok(level > 0.5 && level < dbm0ToPeak(-45), `rms ${level}`);
      });
    }
    it('uses the same replacement for every digit (flat style): one beep waveform, onset within one hop of the key', () => {
      const onsets = keypad.starts.map((s) => {
        const from = s + L - 200;
        const i = run.output.subarray(from, from + 800).findIndex((v) => Math.abs(v) > 300);
        return from + i;
      });
      const first = onsets[0] ?? 0;
      const ref = run.output.subarray(first, first + 400);
      onsets.forEach((onset, d) => {
        assert.ok(Math.abs(onset - ((keypad.starts[d] as number) + L)) <= 60, `digit ${d} replacement at ${onset}`);
        const seg = run.output.subarray(onset, onset + 400);
        let err = 0;
        for (let k = 0; k < seg.length; k++) err += Math.abs((seg[k] as number) - (ref[k] as number));
        assert.ok(err / seg.length < 60, `digit ${d}: replacement differs by ${(err / seg.length).toFixed(0)} on average`);
      });
    });
  });

  describe('leaving secure mode', () => {
    it('gives the delay back at a quiet moment and is transparent afterwards', () => {
      const dsp = new UplinkDsp();
      dsp.enterSecure();
      const block = new Int16Array(160);
      const out = new Int16Array(160);
      dsp.process(block, out);
      dsp.exitSecure();
      assert.equal(dsp.mode, 'draining');
      dsp.process(block, out);
      assert.equal(dsp.mode, 'transparent');
      assert.equal(dsp.latencySamples, 0);
      const probe = Int16Array.from({ length: 160 }, (_, i) => (i * 37) % 2000);
      dsp.process(probe, out);
      assert.deepEqual(out, probe);
    });
    it('waits while audio is loud and drops the delay after DRAIN_MAX_SAMPLES at the latest', () => {
      const dsp = new UplinkDsp();
      dsp.enterSecure();
      const loud = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i * 0.3)));
      const out = new Int16Array(160);
      dsp.process(loud, out);
      dsp.exitSecure();
      dsp.process(loud, out);
      assert.equal(dsp.mode, 'draining');
      for (let n = 0; n < DRAIN_MAX_SAMPLES / 160; n++) dsp.process(loud, out);
      assert.equal(dsp.mode, 'transparent');
    });
    it('refuses exitSecure in normal mode, naming the mode', () => {
      assert.throws(() => new UplinkDsp().exitSecure(), /cannot exitSecure in mode transparent/);
    });
  });

  describe('fails closed (DESIGN.md §2 step 7, §5)', () => {
    it('mutes the uplink with comfort noise for the rest of the session when the digit consumer throws', () => {
      const faults: unknown[] = [];
      const dsp = new UplinkDsp({ onDigit: () => { throw new Error('capture failed'); }, onFault: (e) => faults.push(e) });
      dsp.enterSecure();
      const out = new Int16Array(keypad.samples.length);
      for (let i = 0; i < keypad.samples.length; i += 160) dsp.process(keypad.samples.subarray(i, i + 160), out.subarray(i, i + 160));
      assert.equal(dsp.faulted, true);
      assert.equal(faults.length, 1);
      const firstFaultAt = (keypad.ends[0] as number) + msToSamples(60);
      assert.ok(rms(out, firstFaultAt, out.length) < dbm0ToPeak(-45));
      assert.equal(detectDigits(out).length, 0);
      dsp.exitSecure();
      assert.equal(dsp.faulted, false);
      assert.equal(dsp.mode, 'transparent');
    });
    it('mutes on a block whose output length does not match, and on an overrun', () => {
      const a = new UplinkDsp();
      a.enterSecure();
      a.process(new Int16Array(160), new Int16Array(80));
      assert.equal(a.faulted, true);
      const b = new UplinkDsp();
      b.enterSecure();
      b.signalOverrun();
      assert.equal(b.faulted, true);
      const out = new Int16Array(160);
      b.process(Int16Array.from({ length: 160 }, () => 12000), out);
      assert.ok(rms(out, 0, 160) < dbm0ToPeak(-45));
    });
    it('outside secure mode a fault does not mute: audio keeps flowing', () => {
      const dsp = new UplinkDsp({ onDigit: () => { throw new Error('x'); } });
      const out = new Int16Array(keypad.samples.length);
      for (let i = 0; i < keypad.samples.length; i += 160) dsp.process(keypad.samples.subarray(i, i + 160), out.subarray(i, i + 160));
      assert.equal(dsp.faulted, false);
      assert.ok(dsp.faults >= 1);
      assert.deepEqual(out, keypad.samples);
    });
  });

  describe("policy 'strip-always'", () => {
    it('keeps the delay line on outside payments, masks tones, and reports digits as not secure', () => {
      const run = runUplink(keypad.samples, { secure: false, policy: 'strip-always', lookaheadMs: 20 });
      assert.equal(run.dsp.latencySamples, msToSamples(20));
      assert.equal(run.dsp.maskedTones, DIGITS.length);
      assert.equal(detectDigits(run.output).length, 0);
      assert.ok(run.digits.every((d: UplinkDigitEvent) => !d.secure));
      run.dsp.enterSecure();
      run.dsp.exitSecure();
      assert.equal(run.dsp.mode, 'stripping');
    });
  });

  describe('options', () => {
    it('refuses a lookahead over 20 ms, an unknown style and another sample rate, naming the value', () => {
      assert.throws(() => new UplinkDsp({ lookaheadMs: 25 }), /lookahead 25 ms is outside 0–20 ms/);
      assert.throws(() => new UplinkDsp({ style: 'loud' as never }), /mask style "loud"/);
      assert.throws(() => new UplinkDsp({ sampleRate: 16000 }), /sample rate 16000 Hz/);
      assert.throws(() => new UplinkDsp({ policy: 'strip' as never }), /uplink policy "strip"/);
    });
  });
});
