/**
 * Caller ID against SpanDSP (libspandsp-dev) as the independent reference: FSK written by SpanDSP's
 * adsi_tx (CLASS = Bell 202, CLIP = V.23; SDMF and MDMF; and CLIP_DTMF) must decode exactly with our
 * receiver (controller/dsp caller-id-receiver.ts); and the simulator's own transmitter
 * (hw/sim/caller-id-fsk.ts) must decode exactly with SpanDSP's adsi_rx.
 */
import assert from 'node:assert/strict';
import { CallerIdReceiver } from '../../../controller/dsp/caller-id-receiver';
import type { CallerId } from '../../../controller/dsp/caller-id-message';
import type { FskStandard } from '../../../controller/dsp/fsk-demodulator';
import { callerIdAudio, encodeCallerId, type SimCallerId } from '../../../hw/sim/caller-id-fsk';
import { hasSpanDsp, requirePeer } from '../../lib/dsp-peers';
import { spandspCallerIdAudio, spandspReceive, type AdsiStandard } from '../../lib/pstn-spandsp';

function receive(samples: Int16Array, fsk: FskStandard, blockSamples = 80): { ids: CallerId[]; errors: number } {
  const ids: CallerId[] = [];
  const rx = new CallerIdReceiver({ fsk, onCallerId: (id) => ids.push(id) });
  for (let i = 0; i < samples.length; i += blockSamples) rx.process(samples.subarray(i, i + blockSamples));
  return { ids, errors: rx.errors };
}

describe('caller ID interop with SpanDSP ADSI (Telcordia GR-30 CLASS, ETSI EN 300 659 CLIP)', function () {
  this.timeout(20000);
  before(function () {
    requirePeer(this, hasSpanDsp(), 'SpanDSP (libspandsp-dev, pkg-config, gcc)');
  });

  const fskCases: [AdsiStandard, FskStandard][] = [
    ['class', 'bell202'],
    ['clip', 'v23'],
  ];
  for (const [standard, fsk] of fskCases) {
    it(`${standard} (${fsk}) SDMF from SpanDSP adsi_tx: date/time and number decoded exactly`, () => {
      const { ids, errors } = receive(spandspCallerIdAudio(standard, 'sdmf', '11221530', '5551234567', '-'), fsk);
      assert.deepEqual(ids, [{ format: 'sdmf', dateTime: { month: 11, day: 22, hour: 15, minute: 30 }, number: '5551234567' }]);
      assert.equal(errors, 0);
    });

    it(`${standard} (${fsk}) MDMF from SpanDSP adsi_tx: date/time, number and name decoded exactly`, () => {
      const { ids } = receive(spandspCallerIdAudio(standard, 'mdmf', '01010001', '0201234567', 'JANE Q. PUBLIC'), fsk, 160);
      assert.deepEqual(ids, [{ format: 'mdmf', dateTime: { month: 1, day: 1, hour: 0, minute: 1 }, number: '0201234567', name: 'JANE Q. PUBLIC' }]);
    });

    it(`${standard} (${fsk}) MDMF private caller (reason for absence "P") and SDMF out of area ("O")`, () => {
      assert.deepEqual(receive(spandspCallerIdAudio(standard, 'mdmf', '12312359', 'P', 'ACME'), fsk).ids, [
        { format: 'mdmf', dateTime: { month: 12, day: 31, hour: 23, minute: 59 }, numberAbsence: 'private', name: 'ACME' },
      ]);
      assert.deepEqual(receive(spandspCallerIdAudio(standard, 'sdmf', '06150800', 'O', '-'), fsk).ids, [
        { format: 'sdmf', dateTime: { month: 6, day: 15, hour: 8, minute: 0 }, numberAbsence: 'unavailable' },
      ]);
    });

    it(`${standard} (${fsk}): the other standard's receiver does not deliver a wrong message`, () => {
      const other: FskStandard = fsk === 'bell202' ? 'v23' : 'bell202';
      const { ids } = receive(spandspCallerIdAudio(standard, 'mdmf', '11221530', '5551234567', 'JOHN DOE'), other);
      for (const id of ids) assert.equal(id.number, '5551234567', 'anything delivered must be exact (the checksum guards it)');
    });
  }

  it('CLIP DTMF from SpanDSP (A…C and A…# forms, private caller) decoded by the DTMF path', () => {
    assert.deepEqual(receive(spandspCallerIdAudio('dtmf', 'c', '-', '4930123456', '-'), 'v23').ids, [{ format: 'dtmf', number: '4930123456' }]);
    assert.deepEqual(receive(spandspCallerIdAudio('dtmf', 'hash', '-', '5551234', '-'), 'v23').ids, [{ format: 'dtmf', number: '5551234' }]);
    assert.deepEqual(receive(spandspCallerIdAudio('dtmf', 'c', '-', 'P', '-'), 'v23').ids, [{ format: 'dtmf', numberAbsence: 'private' }]);
  });

  const simCases: [SimCallerId, AdsiStandard, FskStandard][] = [
    [{ format: 'sdmf', dateTime: '11221530', number: '5551234567' }, 'class', 'bell202'],
    [{ format: 'mdmf', dateTime: '03040506', number: '2125550100', name: 'SIM CALLER' }, 'class', 'bell202'],
    [{ format: 'mdmf', dateTime: '11221530', number: '4930123456', name: 'ANRUFER' }, 'clip', 'v23'],
    [{ format: 'sdmf', dateTime: '11221530', number: 'P' }, 'clip', 'v23'],
  ];
  for (const [id, standard, fsk] of simCases) {
    it(`the simulator's ${fsk} ${id.format.toUpperCase()} transmitter is decoded exactly by SpanDSP adsi_rx (${standard})`, () => {
      // 100 ms of silence, the transmission, 200 ms of silence.
      const tx = callerIdAudio(id, fsk);
      const all = new Int16Array(800 + tx.length + 1600);
      all.set(tx, 800);
      const got = spandspReceive(standard, all);
      const expected = encodeCallerId(id);
      assert.deepEqual(got.map((b) => b.toString('hex')), [Buffer.from(expected.subarray(0, expected.length - 1)).toString('hex')]);
      // And by ours.
      assert.equal(receive(all, fsk).ids.length, 1);
    });
  }
});
