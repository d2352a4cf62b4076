import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, encodeFrame } from '../../../hw/link/codec';
import { arbitraryLinkMessage } from '../../lib/link-samples';

const SEED = 0x7043;

describe('link codec properties (fast-check, fixed seed)', function () {
  this.timeout(120_000);

  it('round-trips arbitrary messages with arbitrary sequence numbers (100,000 runs)', () => {
    fc.assert(
      fc.property(arbitraryLinkMessage, fc.integer({ min: 0, max: 0xffff }), (msg, seq) => {
        const frames = new FrameDecoder().push(encodeFrame(msg, seq));
        assert.deepEqual(frames, [{ seq, message: msg }]);
      }),
      { numRuns: 100_000, seed: SEED },
    );
  });

  it('never throws on byte soup and every frame it yields re-encodes to identical bytes (100,000 runs)', () => {
    // Soup: random bytes mixed with real frames and their fragments, so the decoder meets real
    // sync pairs, good headers with bad bodies, and good frames after garbage.
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      fc.tuple(arbitraryLinkMessage, fc.integer({ min: 0, max: 0xffff })).map(([m, s]) => encodeFrame(m, s)),
      fc.tuple(arbitraryLinkMessage, fc.integer({ min: 0, max: 0xffff }), fc.nat(), fc.nat(255)).map(([m, s, cut, x]) => {
        const f = encodeFrame(m, s);
        const b = Buffer.from(f.subarray(0, cut % (f.length + 1)));
        if (b.length > 0) b[x % b.length] = (b[x % b.length] ?? 0) ^ (x | 1);
        return b;
      }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.array(fc.nat(64), { maxLength: 6 }), (pieces, cuts) => {
        const soup = Buffer.concat(pieces);
        const d = new FrameDecoder();
        let at = 0;
        const frames = [];
        for (const c of [...cuts, soup.length]) {
          const next = Math.min(soup.length, at + c);
          frames.push(...d.push(soup.subarray(at, next)));
          at = next;
        }
        frames.push(...d.push(soup.subarray(at)));
        for (const f of frames) {
          const again = encodeFrame(f.message, f.seq);
          assert.ok(soup.includes(again), `re-encoded ${f.message.type} frame not found in the input`);
        }
        const s = d.stats;
        assert.equal(s.bytesIn, soup.length);
        assert.ok(s.resyncBytesSkipped + d.bufferedBytes <= soup.length);
      }),
      { numRuns: 100_000, seed: SEED },
    );
  });
});
