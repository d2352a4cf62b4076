/** DTMF generation toward the PSTN (RFC 4733 events regenerated in band): what we send, our detector and Q.24 accept. */
import assert from 'node:assert/strict';
import { detectDigits } from '../../../controller/dsp/dtmf-detector';
import { DtmfToneSource, dtmfTone, DTMF_DIGITS, isDtmfDigit } from '../../../controller/dsp/tone-generator';
import { digitString, g711RoundTrip, toneAmplitude } from '../../lib/dsp-signals';

describe('tone-generator', () => {
  it('dtmfTone and isDtmfDigit keep their contract', () => {
    assert.equal(dtmfTone('5', { durationMs: 50 }).length, 400);
    assert.ok(isDtmfDigit('#') && !isDtmfDigit('E') && !isDtmfDigit('12'));
  });
  it('DtmfToneSource plays each event as a detectable digit, block by block, also through µ-law', () => {
    const src = new DtmfToneSource();
    const out = new Int16Array(16 * 1600);
    const block = new Int16Array(80);
    for (let code = 0; code < 16; code++) {
      for (let b = 0; b < 20; b++) {
        if (b === 0) src.start(code);
        if (b === 8) src.stop();
        src.fill(block);
        out.set(block, code * 1600 + b * 80);
      }
    }
    assert.equal(digitString(detectDigits(out)), DTMF_DIGITS);
    assert.equal(digitString(detectDigits(g711RoundTrip(out, 'ulaw'))), DTMF_DIGITS);
    assert.equal(src.active, false);
    assert.ok(toneAmplitude(out, 0, 640, 697) > 8000 && toneAmplitude(out, 0, 640, 1209) > 10000);
  });
  it('refuses a code outside 0–15, naming it', () => {
    assert.throws(() => new DtmfToneSource().start(16), /DTMF code 16 is outside 0–15/);
  });
});
