import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TonewallError } from '../../../hw/base/errors';
import { decodeTelephoneEvents, encodeTelephoneEvent, DTMF_EVENT_CHARS } from '../../../controller/media/rtp-event';

describe('RFC 4733 telephone-event payload', function () {
  // The fuzz cases take about a second; the limit only guards against a hang.
  this.timeout(60_000);

  it('§2.3 encodes event, E bit, volume and duration bit for bit', () => {
    assert.equal(encodeTelephoneEvent({ event: 11, end: true, volumeDbm0: 10, durationSamples: 1600 }).toString('hex'), '0b8a0640');
  });

  it('§2.3 decodes stacked events and ignores the reserved bit', () => {
    const evs = decodeTelephoneEvents(Buffer.from('05400320' + '0ac00010', 'hex'));
    assert.deepEqual(evs, [
      { event: 5, end: false, volumeDbm0: 0, durationSamples: 800 },
      { event: 10, end: true, volumeDbm0: 0, durationSamples: 16 },
    ]);
    assert.equal(DTMF_EVENT_CHARS[10], '*');
  });

  it('rejects payloads that are not whole events and out-of-range fields, naming the value', () => {
    assert.throws(() => decodeTelephoneEvents(Buffer.alloc(5)), /5 bytes is not a non-zero multiple of 4/);
    assert.throws(() => decodeTelephoneEvents(Buffer.alloc(0)), /0 bytes/);
    assert.throws(() => encodeTelephoneEvent({ event: 1, end: false, volumeDbm0: 64, durationSamples: 0 }), /volume 64 is not 0-63/);
    assert.throws(() => encodeTelephoneEvent({ event: 1, end: false, volumeDbm0: 0, durationSamples: 70000 }), /duration 70000/);
  });

  it('fuzz: encode → decode round-trips; arbitrary bytes decode or throw TonewallError (20k runs each)', () => {
    const ev = fc.record({ event: fc.integer({ min: 0, max: 255 }), end: fc.boolean(), volumeDbm0: fc.integer({ min: 0, max: 63 }), durationSamples: fc.integer({ min: 0, max: 0xffff }) });
    fc.assert(fc.property(ev, (e) => assert.deepEqual(decodeTelephoneEvents(encodeTelephoneEvent(e)), [{ ...e }])), { seed: 4733, numRuns: 20_000 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          assert.equal(decodeTelephoneEvents(b).length, b.length / 4);
        } catch (e) {
          if (!(e instanceof TonewallError)) throw e;
        }
      }),
      { seed: 2833, numRuns: 20_000 },
    );
  });
});
