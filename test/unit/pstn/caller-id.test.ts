import assert from 'node:assert/strict';
import { decodeCallerIdMessage, decodeDtmfCallerId, type CallerId } from '../../../controller/dsp/caller-id-message';
import { CallerIdReceiver } from '../../../controller/dsp/caller-id-receiver';
import { FskDemodulator, type FskStandard } from '../../../controller/dsp/fsk-demodulator';
import { decode, encode } from '../../../controller/media/g711';
import { callerIdAudio, callerIdBits, encodeCallerId, fskAudio } from '../../../hw/sim/caller-id-fsk';
import { SeededRandom } from '../../../hw/sim/seeded-random';

function withSum(bytes: number[]): Uint8Array {
  const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
  return Uint8Array.from([...bytes, (0x100 - sum) & 0xff]);
}

function receive(samples: Int16Array, fsk: FskStandard, block = 80): { ids: CallerId[]; errors: number } {
  const ids: CallerId[] = [];
  const rx = new CallerIdReceiver({ fsk, onCallerId: (id) => ids.push(id) });
  for (let i = 0; i < samples.length; i += block) rx.process(samples.subarray(i, i + block));
  return { ids, errors: rx.errors };
}

describe('caller ID message decoding (Telcordia GR-30 SDMF/MDMF, ETSI EN 300 659-3)', () => {
  it('SDMF 0x04: MMDDHHMM and the number; "P" and "O" are reasons for absence', () => {
    assert.deepEqual(decodeCallerIdMessage(encodeCallerId({ format: 'sdmf', dateTime: '02291201', number: '5551234567' })), {
      format: 'sdmf',
      dateTime: { month: 2, day: 29, hour: 12, minute: 1 },
      number: '5551234567',
    });
    assert.equal(decodeCallerIdMessage(encodeCallerId({ format: 'sdmf', dateTime: '02291201', number: 'P' })).numberAbsence, 'private');
  });

  it('MDMF 0x80: parameters in any order, unknown ones (0x03 called number, 0x11 call type) skipped', () => {
    const body = [0x11, 1, 0x01, 0x07, 4, 0x41, 0x4e, 0x4e, 0x41, 0x03, 2, 0x31, 0x32, 0x02, 3, 0x31, 0x32, 0x33, 0x08, 1, 0x50];
    assert.deepEqual(decodeCallerIdMessage(withSum([0x80, body.length, ...body])), { format: 'mdmf', name: 'ANNA', number: '123', nameAbsence: 'private' });
  });

  it('checksum, length and content errors name what is wrong and never echo the number', () => {
    const good = encodeCallerId({ format: 'sdmf', dateTime: '11221530', number: '5551234567' });
    const bad = Uint8Array.from(good);
    bad[5] = (bad[5] ?? 0) ^ 1;
    assert.throws(() => decodeCallerIdMessage(bad), /checksum mismatch: bytes sum to 0x[0-9a-f]{2} mod 256, expected 0x00/);
    assert.throws(() => decodeCallerIdMessage(good.subarray(0, 10)), /length byte 18 does not match 10 bytes received \(expected 21\)/);
    assert.throws(() => decodeCallerIdMessage(Uint8Array.of(0x04)), /1 bytes is shorter than 3/);
    assert.throws(() => decodeCallerIdMessage(withSum([0x06, 1, 0x42])), /message type 0x06 is not caller ID \(expected 0x04 SDMF or 0x80 MDMF\)/);
    assert.throws(() => decodeCallerIdMessage(withSum([0x80, 3, 0x02, 5, 0x31])), /claims 5 bytes, only 1 left/);
    assert.throws(() => decodeCallerIdMessage(withSum([0x04, 9, ...[0x31, 0x33, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30], 0x31])), /date\/time 13\/1 0:0 is out of range/);
    for (const re of [/5551234567/]) {
      try {
        decodeCallerIdMessage(bad);
      } catch (err) {
        assert.doesNotMatch(String(err), re);
      }
    }
  });

  it('DTMF caller ID (ETSI EN 300 659-1 Annex B): A…C, B00C / B10C, A…#, D1# / D2#, bare …#', () => {
    assert.deepEqual(decodeDtmfCallerId('A4930123456C'), { format: 'dtmf', number: '4930123456' });
    assert.deepEqual(decodeDtmfCallerId('B00C'), { format: 'dtmf', numberAbsence: 'private' });
    assert.deepEqual(decodeDtmfCallerId('B10C'), { format: 'dtmf', numberAbsence: 'unavailable' });
    assert.deepEqual(decodeDtmfCallerId('A5551234#'), { format: 'dtmf', number: '5551234' });
    assert.deepEqual(decodeDtmfCallerId('D1#'), { format: 'dtmf', numberAbsence: 'private' });
    assert.deepEqual(decodeDtmfCallerId('D2#'), { format: 'dtmf', numberAbsence: 'unavailable' });
    assert.deepEqual(decodeDtmfCallerId('5551234#'), { format: 'dtmf', number: '5551234' });
    assert.throws(() => decodeDtmfCallerId('B99C'), /code B with 2 digits is not A<number>C, B00C or B10C/);
    assert.throws(() => decodeDtmfCallerId('C'), /1 keys does not have the form/);
  });
});

describe('FSK caller ID receiver (Bell 202 / V.23, 1200 baud, 8N1)', () => {
  const id = { format: 'mdmf' as const, dateTime: '11221530', number: '5551234567', name: 'JOHN DOE' };
  const expected: CallerId = { format: 'mdmf', dateTime: { month: 11, day: 22, hour: 15, minute: 30 }, number: '5551234567', name: 'JOHN DOE' };

  for (const fsk of ['bell202', 'v23'] as const) {
    it(`${fsk}: decodes through µ-law and A-law, in blocks of any size (1, 7, 80, 333 samples)`, () => {
      const audio = callerIdAudio(id, fsk);
      for (const law of ['ulaw', 'alaw'] as const) {
        const line = decode(law, encode(law, audio));
        for (const block of [1, 7, 80, 333]) assert.deepEqual(receive(line, fsk, block).ids, [expected], `${law}, block ${block}`);
      }
    });

    it(`${fsk}: decodes at -30 dBm0 with white noise 20 dB below the signal`, () => {
      const audio = callerIdAudio(id, fsk, -30);
      const rng = new SeededRandom(42);
      const noiseRms = 22785 * 10 ** (-30 / 20) * Math.SQRT1_2 * 0.1;
      const noisy = Int16Array.from(audio, (x) => x + Math.round((rng.next() * 2 - 1) * noiseRms * Math.sqrt(3)));
      assert.deepEqual(receive(noisy, fsk).ids, [expected]);
    });
  }

  it('a message with a bad checksum (one bit flipped on the line) is counted as an error and not delivered', () => {
    const msg = encodeCallerId(id);
    msg[6] = (msg[6] ?? 0) ^ 0x04;
    const r = receive(fskAudio(callerIdBits(msg, 'bell202'), 'bell202'), 'bell202');
    assert.deepEqual(r.ids, []);
    assert.equal(r.errors, 1);
  });

  it('silence, speech-like noise and a 1 kHz tone give no characters at all', () => {
    const chars: number[] = [];
    const d = new FskDemodulator('bell202', { onCharacter: (c) => chars.push(c.byte) });
    d.process(new Int16Array(8000));
    d.process(Int16Array.from({ length: 8000 }, (_, n) => Math.round(3000 * Math.sin((2 * Math.PI * 1000 * n) / 8000))));
    assert.deepEqual(chars, []);
  });
});
