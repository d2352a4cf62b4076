/** WAV reading and writing for the offline commands: round trips in all three encodings, and exact refusals. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatWav, parseWav } from '../../../controller/dsp/wav-codec';
import { decode, encode } from '../../../controller/media/g711';

const samples = Int16Array.from({ length: 801 }, (_, i) => Math.round(12000 * Math.sin(i / 7)));

describe('wav-codec (RIFF/WAVE, 8 kHz mono)', () => {
  it('round-trips 16-bit PCM exactly', () => {
    const back = parseWav(formatWav({ encoding: 'pcm16', samples }));
    assert.equal(back.encoding, 'pcm16');
    assert.deepEqual(Array.from(back.samples), Array.from(samples));
  });
  for (const law of ['ulaw', 'alaw'] as const) {
    it(`round-trips ${law} (samples come back G.711-quantised, bytes unchanged)`, () => {
      const bytes = formatWav({ encoding: law, samples });
      const back = parseWav(bytes);
      assert.equal(back.encoding, law);
      assert.deepEqual(Array.from(back.samples), Array.from(decode(law, encode(law, samples))));
      assert.deepEqual(formatWav(back), bytes);
    });
  }
  it('refuses stereo, another rate, 8-bit PCM and unknown formats, naming the value', () => {
    const good = formatWav({ encoding: 'pcm16', samples });
    const stereo = Buffer.from(good);
    stereo.writeUInt16LE(2, 22);
    assert.throws(() => parseWav(stereo, 'x.wav'), /x\.wav: 2 channels, expected 1/);
    const rate = Buffer.from(good);
    rate.writeUInt32LE(16000, 24);
    assert.throws(() => parseWav(rate), /sample rate 16000 Hz, expected 8000/);
    const bits = Buffer.from(good);
    bits.writeUInt16LE(8, 34);
    assert.throws(() => parseWav(bits), /PCM with 8 bits per sample, expected 16/);
    const fmt = Buffer.from(good);
    fmt.writeUInt16LE(3, 20);
    assert.throws(() => parseWav(fmt), /WAVE format 3, expected 1 \(PCM\), 6 \(A-law\) or 7 \(µ-law\)/);
    assert.throws(() => parseWav(Buffer.from('RIFX0000WAVE')), /not a RIFF\/WAVE file/);
    assert.throws(() => parseWav(good.subarray(0, 36)), /no data chunk/);
  });
  it('fuzz: arbitrary bytes and mutated files either parse or fail with EWAV_FORMAT', () => {
    const good = formatWav({ encoding: 'alaw', samples: samples.subarray(0, 50) });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { maxLength: 8 }), (junk, edits) => {
        const mutated = Buffer.from(good);
        for (const [at, v] of edits) mutated[at] = v;
        for (const bytes of [junk, mutated, Buffer.concat([good.subarray(0, 44), junk])]) {
          try {
            const r = parseWav(bytes);
            assert.ok(r.samples instanceof Int16Array);
          } catch (err) {
            assert.equal((err as { code?: string }).code, 'EWAV_FORMAT', (err as Error).message);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
  it('survives truncated and corrupted headers with an error, never a crash', () => {
    const good = formatWav({ encoding: 'ulaw', samples });
    for (let n = 0; n < 60; n++) {
      try {
        parseWav(good.subarray(0, n));
      } catch (err) {
        assert.match((err as Error).message, /RIFF|chunk|format|expected/);
      }
    }
  });
});
