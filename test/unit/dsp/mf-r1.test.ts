/**
 * MF R1 (ITU-T Q.320–Q.323) generator and receiver (controller/dsp/mf-r1.ts): every signal round
 * trips, a whole address KP…ST decodes, the Q.322 acceptance limits hold (twist 6 dB, level
 * −31 dBm0, 30 ms minimum, the two-of-six check), noise at 20 dB SNR does not disturb it, and DTMF
 * digits are not taken for MF signals.
 */
import assert from 'node:assert/strict';
import { TonewallError } from '../../../hw/base/errors';
import { addressOf, detectMfR1, mfR1Address, mfR1Signals, MF_R1_HZ, type MfSignal } from '../../../controller/dsp/mf-r1';
import { addTones, dtmfTone } from '../../../controller/dsp/tone-generator';

const ALL: MfSignal[] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'KP', 'ST', "ST'", "ST''", "ST'''"];

/** Deterministic white noise at `rms` (xorshift). */
function noise(n: number, rms: number, seed = 7): Int16Array {
  const out = new Int16Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = Math.round((((s >>> 0) / 2 ** 32) * 2 - 1) * rms * Math.sqrt(3));
  }
  return out;
}

function mix(a: Int16Array, b: Int16Array): Int16Array {
  return a.map((x, i) => Math.max(-32768, Math.min(32767, x + (b[i] ?? 0))));
}

describe('MF R1 (Q.320–Q.323)', () => {
  it('every one of the 15 signals is generated on its two frequencies and detected as itself', () => {
    const events = detectMfR1(mfR1Signals(ALL));
    assert.deepEqual(events.map((e) => e.signal), ALL);
    for (const e of events) assert.ok(e.durationMs >= 60 && e.durationMs <= 110, `${e.signal} lasted ${e.durationMs} ms`);
    assert.deepEqual(MF_R1_HZ, [700, 900, 1100, 1300, 1500, 1700]);
  });

  it('an address KP 5551234 ST decodes to its digits, also at 20 dB SNR and with 5 dB twist either way', () => {
    const clean = mfR1Address('5551234');
    assert.deepEqual(addressOf(detectMfR1(clean).map((e) => e.signal)), { digits: '5551234', end: 'ST' });
    // −7 dBm0 per tone: noise 20 dB below one tone's RMS.
    const toneRms = 22785 * 10 ** (-7 / 20) / Math.SQRT2;
    assert.deepEqual(addressOf(detectMfR1(mix(clean, noise(clean.length, toneRms / 10))).map((e) => e.signal))?.digits, '5551234');
    for (const twistDb of [5, -5]) assert.deepEqual(addressOf(detectMfR1(mfR1Address('8005550100', { twistDb })).map((e) => e.signal))?.digits, '8005550100');
  });

  it('Q.322 limits: twist beyond 6 dB, a level below −31 dBm0 or a tone shorter than 30 ms is not a signal', () => {
    assert.deepEqual(detectMfR1(mfR1Signals(['5'], { twistDb: 9 })), []);
    assert.deepEqual(detectMfR1(mfR1Signals(['5'], { levelDbm0: -36 })), []);
    assert.deepEqual(detectMfR1(mfR1Signals(['5'], { toneMs: 20 })), []);
    assert.deepEqual(detectMfR1(mfR1Signals(['KP'], { kpMs: 40 })), [], 'KP needs 55 ms');
    assert.equal(detectMfR1(mfR1Signals(['5'], { levelDbm0: -25 }))[0]?.signal, '5');
  });

  it('two-of-six: a third frequency within 10 dB of the pair voids the signal', () => {
    const s = mfR1Signals(['5']);
    addTones(s, 0, 544, [{ hz: 1700, levelDbm0: -12 }]);
    assert.deepEqual(detectMfR1(s), []);
  });

  it('DTMF digits (Q.23 pairs) are not taken for MF signals', () => {
    for (const d of ['1', '5', '9', '0', '#'] as const) assert.deepEqual(detectMfR1(dtmfTone(d, { durationMs: 100 })), [], `DTMF ${d}`);
  });

  it('refuses an address that is not 1-32 digits', () => {
    assert.throws(() => mfR1Address('12a'), (e: unknown) => e instanceof TonewallError && e.code === 'EMF_DIGITS');
    assert.equal(addressOf(['KP', '1', '2']), undefined, 'no ST yet');
    assert.deepEqual(addressOf(['KP', '9', 'KP', '4', "ST'"]), { digits: '4', end: "ST'" }, 'a repeated KP restarts the address');
  });
});
