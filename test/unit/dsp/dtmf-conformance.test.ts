/**
 * DTMF receiver conformance, ITU-T Q.24 (Annex A) / ETSI ES 201 235-3, over synthesized signals and
 * the same signals through G.711 µ-law and A-law. One describe per clause; each case runs all 16
 * digits. Limits and their sources: controller/dsp/dtmf-thresholds.ts.
 */
import assert from 'node:assert/strict';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { DTMF_DIGITS, type DtmfDigit } from '../../../controller/dsp/tone-generator';
import { conformanceCorpus, pauseCase } from '../../lib/dsp-corpus';
import { digitString, dtmfSequence, msToSamples } from '../../lib/dsp-signals';

const corpus = conformanceCorpus();
const clauses = [...new Set(corpus.map((c) => c.clause))];

describe('DTMF receiver conformance (Q.24 / ES 201 235-3)', () => {
  for (const clause of clauses) {
    describe(`Q.24 ${clause}`, () => {
      const names = [...new Set(corpus.filter((c) => c.clause === clause).map((c) => c.name))];
      for (const name of names) {
        const cases = corpus.filter((c) => c.clause === clause && c.name === name);
        const verdict = cases[0]?.verdict;
        it(`${verdict} ${name} (all 16 digits)`, () => {
          const wrong: string[] = [];
          for (const c of cases) {
            const got = detectDigits(c.samples);
            const ok = c.verdict === 'accept' ? digitString(got) === c.digit : got.length === 0;
            if (!ok) wrong.push(`${c.digit}→"${digitString(got)}"`);
          }
          assert.deepEqual(wrong, [], `${name}: ${wrong.join(' ')}`);
        });
      }
    });
  }

  describe('Q.24 interdigit pause', () => {
    for (const law of [undefined, 'ulaw', 'alaw'] as const) {
      it(`accepts a 40 ms pause between two equal digits (${law ?? 'linear'})`, () => {
        for (const d of DTMF_DIGITS.split('') as DtmfDigit[]) assert.equal(digitString(detectDigits(pauseCase(d, 40, law))), d + d, d);
      });
    }
    it('bridges a 10 ms drop-out inside one digit (one digit, not two)', () => {
      for (const d of DTMF_DIGITS.split('') as DtmfDigit[]) assert.equal(digitString(detectDigits(pauseCase(d, 10))), d, d);
    });
  });

  describe('reporting', () => {
    it('reports every digit of a sequence in order with start and end positions within 5 ms', () => {
      const digits = '0123456789*#ABCD'.split('') as DtmfDigit[];
      const seq = dtmfSequence(digits.map((digit) => ({ digit, durationMs: 70 })), 60);
      const got = detectDigits(seq.samples);
      assert.equal(digitString(got), digits.join(''));
      got.forEach((e, i) => {
        assert.ok(Math.abs(e.startSample - (seq.starts[i] as number)) <= msToSamples(5), `start of ${i}: ${e.startSample} vs ${seq.starts[i]}`);
        assert.ok(Math.abs(e.endSample - (seq.ends[i] as number)) <= msToSamples(5), `end of ${i}: ${e.endSample} vs ${seq.ends[i]}`);
      });
    });
    it('gives the same events whatever the block size', () => {
      const seq = dtmfSequence(['1', '5', '9', '#'].map((d) => ({ digit: d as DtmfDigit, durationMs: 55 })), 50);
      const ref = detectDigits(seq.samples, 160);
      for (const block of [1, 7, 51, 80, 102, 333]) assert.deepEqual(detectDigits(seq.samples, block), ref, `block ${block}`);
    });
    it('reports a digit still sounding at the end of the stream', () => {
      const { samples } = dtmfSequence([{ digit: '7', durationMs: 80 }], 0, 40);
      assert.equal(digitString(detectDigits(samples.subarray(0, msToSamples(100)))), '7');
    });
    it('rejects a block size that is not a positive integer', () => {
      assert.throws(() => detectDigits(new Int16Array(10), 0), /block size 0/);
    });
  });
});
