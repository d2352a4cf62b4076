/**
 * Interop with SpanDSP 0.0.6 (libspandsp-dev) as the reference (harness: test/interop/harness/spandsp-dtmf.c):
 * - G.711: our tables are bit-exact with SpanDSP's over all 65536 inputs and all 256 codes;
 * - Q.24 corpus: wherever the standard is unambiguous we agree with SpanDSP, except on the cases
 *   where SpanDSP's own answer contradicts the standard (listed, and only at the limits);
 * - masked output: SpanDSP finds zero digits, at its default settings and at relaxed ones.
 */
import assert from 'node:assert/strict';
import { decode, encode, ALAW_TO_LINEAR, ULAW_TO_LINEAR } from '../../../controller/media/g711';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import type { DtmfDigit } from '../../../controller/dsp/tone-generator';
import { conformanceCorpus } from '../../lib/dsp-corpus';
import { hasSpanDsp, requirePeer, spandspDetect, spandspG711 } from '../../lib/dsp-peers';
import { runUplink } from '../../lib/dsp-run';
import { addNoise, digitString, dtmfSequence, g711RoundTrip, type ToneSpec } from '../../lib/dsp-signals';

const DIGITS = '0123456789*#ABCD'.split('') as DtmfDigit[];

/** Keypad sequences a masker must hide: ordinary, weak, loud, twisted, off-frequency, short, noisy. */
function adversarialSequences(): { name: string; samples: Int16Array }[] {
  const variants: [string, Partial<ToneSpec>][] = [
    ['ordinary 60 ms', {}],
    ['long 400 ms', { durationMs: 400 }],
    ['weak -30 dBm0', { rowLevelDbm0: -30 }],
    ['loud -1 dBm0', { rowLevelDbm0: -1 }],
    ['normal twist 10 dB', { rowLevelDbm0: -2, twistDb: -10 }],
    ['reverse twist 6 dB', { rowLevelDbm0: -12, twistDb: 6 }],
    ['+3 % off', { deviationPct: 3 }],
    ['-3 % off', { deviationPct: -3 }],
    ['25 ms', { durationMs: 25 }],
    ['30 ms', { durationMs: 30 }],
  ];
  const out = variants.map(([name, spec]) => ({
    name,
    samples: dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60, ...spec })), 60).samples,
  }));
  const base = dtmfSequence(DIGITS.map((digit) => ({ digit, durationMs: 60 })), 60).samples;
  out.push({ name: 'in noise (S/N 15 dB)', samples: addNoise(base, -20, 5) });
  out.push({ name: 'through µ-law', samples: g711RoundTrip(base, 'ulaw') });
  out.push({ name: 'through A-law', samples: g711RoundTrip(base, 'alaw') });
  return out;
}

describe('SpanDSP interop (reference detector and G.711)', function () {
  this.timeout(120_000);
  beforeEach(function () {
    requirePeer(this, hasSpanDsp(), 'SpanDSP (libspandsp-dev, gcc, pkg-config)');
  });

  it('G.711 µ-law and A-law encode over all 65536 inputs and decode over all 256 codes are bit-exact with SpanDSP', () => {
    const ref = spandspG711();
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const u = encode('ulaw', all);
    const a = encode('alaw', all);
    const firstU = u.findIndex((v, i) => v !== ref.ulaw[i]);
    const firstA = a.findIndex((v, i) => v !== ref.alaw[i]);
    assert.equal(firstU, -1, `µ-law differs first at input ${firstU - 32768}`);
    assert.equal(firstA, -1, `A-law differs first at input ${firstA - 32768}`);
    assert.deepEqual(Array.from(ULAW_TO_LINEAR), Array.from(ref.ulawDecode));
    assert.deepEqual(Array.from(ALAW_TO_LINEAR), Array.from(ref.alawDecode));
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(Array.from(decode('ulaw', codes)), Array.from(ref.ulawDecode));
  });

  it('agrees with SpanDSP on every unambiguous Q.24 case where SpanDSP itself meets the standard', () => {
    const cases = conformanceCorpus().filter((c) => c.verdict !== 'either');
    const disagreements: string[] = [];
    const spandspWrong: string[] = [];
    for (const c of cases) {
      const ours = digitString(detectDigits(c.samples));
      const theirs = spandspDetect(c.samples).map((d) => d.digit).join('');
      const expected = c.verdict === 'accept' ? c.digit : '';
      if (theirs !== expected) spandspWrong.push(`${c.name} ${c.digit}: SpanDSP "${theirs}"`);
      else if (ours !== theirs) disagreements.push(`${c.name} ${c.digit}: ours "${ours}", SpanDSP "${theirs}"`);
    }
    assert.deepEqual(disagreements, []);
    // SpanDSP's misses sit at the limits of the standard (exactly 8/4 dB twist, exactly ±1.5 %, +3.5 % on one tone).
    for (const w of spandspWrong) assert.match(w, /high-low (-8|4) dB|deviation -?1\.5%|only [+-]3\.5%/, w);
    assert.ok(spandspWrong.length < cases.length / 10, `SpanDSP misses ${spandspWrong.length} of ${cases.length}`);
  });

  for (const lookaheadMs of [20, 10]) {
    it(`finds zero digits in our masked output (secure mode, lookahead ${lookaheadMs} ms), at default and relaxed settings`, () => {
      for (const seq of adversarialSequences()) {
        const plain = spandspDetect(seq.samples).length;
        const run = runUplink(seq.samples, { lookaheadMs });
        const found = [
          spandspDetect(run.output).length,
          spandspDetect(run.output, { twistDb: 14, reverseTwistDb: 14, thresholdDbm0: -50 }).length,
        ];
        assert.deepEqual(found, [0, 0], `${seq.name}: SpanDSP found ${found.join('/')} digits in masked output (${plain} in the original)`);
      }
    });
  }

  it('the corpus really contains digits SpanDSP detects (so a zero above means something)', () => {
    const ordinary = adversarialSequences()[0];
    assert.ok(ordinary);
    assert.equal(spandspDetect(ordinary.samples).map((d) => d.digit).join(''), DIGITS.join(''));
  });
});
