import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TonewallError } from '../../../hw/base/errors';
import { decodeRtp, encodeRtp, seqDelta } from '../../../controller/media/rtp-packet';

function throwsRtp(buf: Buffer, text: RegExp): void {
  assert.throws(() => decodeRtp(buf), (e: unknown) => e instanceof TonewallError && e.code === 'ERTP' && text.test(e.message));
}

describe('RTP packets (RFC 3550 §5.1)', function () {
  // The fuzz cases take about a second; the limit only guards against a hang.
  this.timeout(60_000);

  it('§5.1 encodes the fixed header bit for bit', () => {
    const buf = encodeRtp({ marker: true, payloadType: 8, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, payload: Buffer.from([0xd5, 0xd5]) });
    assert.equal(buf.toString('hex'), '80881234deadbeef01020304d5d5');
  });

  it('§5.1 decodes CSRCs, the §5.3.1 extension and padding', () => {
    const buf = encodeRtp({ payloadType: 0, sequence: 1, timestamp: 2, ssrc: 3, csrcs: [7, 8], extension: { profile: 0xbede, data: Buffer.from([1, 2, 3, 4]) }, payload: Buffer.from('abc'), paddingBytes: 3 });
    const p = decodeRtp(buf);
    assert.deepEqual(p.csrcs, [7, 8]);
    assert.equal(p.extension?.profile, 0xbede);
    assert.deepEqual([...(p.extension?.data ?? [])], [1, 2, 3, 4]);
    assert.equal(p.payload.toString(), 'abc');
    assert.equal(p.paddingBytes, 3);
    assert.equal(p.marker, false);
  });

  it('§5.1 rejects what a receiver must not accept, naming the value', () => {
    throwsRtp(Buffer.alloc(11), /11 bytes is shorter than the 12-byte header/);
    throwsRtp(Buffer.from('400000000000000000000000', 'hex'), /RTP version 1, expected 2/);
    throwsRtp(Buffer.from('8f0000000000000000000000', 'hex'), /CSRC count 15 needs 72 bytes, packet has 12/);
    throwsRtp(Buffer.from('90000000000000000000000000000005', 'hex'), /extension of 5 words ends at byte 36, packet has 16/);
    throwsRtp(Buffer.from('a00000000000000000000000aa00', 'hex'), /padding count 0 is not within 1\.\.2/);
    throwsRtp(Buffer.from('a00000000000000000000000aa09', 'hex'), /padding count 9/);
  });

  it('encode validates its input', () => {
    assert.throws(() => encodeRtp({ payloadType: 128, sequence: 0, timestamp: 0, ssrc: 0, payload: Buffer.alloc(0) }), /payload type 128 is not 0-127/);
    assert.throws(() => encodeRtp({ payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payload: Buffer.alloc(0), extension: { profile: 1, data: Buffer.alloc(3) } }), /not a multiple of 4/);
  });

  it('Appendix A.1: sequence distance wraps at 2^16', () => {
    assert.equal(seqDelta(2, 65534), 4);
    assert.equal(seqDelta(65534, 2), -4);
    assert.equal(seqDelta(10, 10), 0);
  });

  it('fuzz: encode → decode round-trips every header field (20k runs)', () => {
    const arb = fc.record({
      marker: fc.boolean(),
      payloadType: fc.integer({ min: 0, max: 127 }),
      sequence: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      ssrc: fc.integer({ min: 0, max: 0xffffffff }),
      csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
      payload: fc.uint8Array({ maxLength: 200 }),
      paddingBytes: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(arb, (p) => {
        const d = decodeRtp(encodeRtp(p));
        assert.deepEqual({ ...d, payload: [...d.payload], extension: undefined }, { ...p, payload: [...p.payload], extension: undefined });
      }),
      { seed: 3550, numRuns: 20_000 },
    );
  });

  it('fuzz: arbitrary bytes decode or throw TonewallError, never anything else (50k runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        try {
          const p = decodeRtp(Buffer.from(bytes));
          assert.ok(p.payload.length <= bytes.length - 12);
        } catch (e) {
          if (!(e instanceof TonewallError)) throw e;
        }
      }),
      { seed: 1889, numRuns: 50_000 },
    );
  });
});
