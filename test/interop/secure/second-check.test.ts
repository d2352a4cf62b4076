import assert from 'node:assert/strict';
import { decode, encode } from '../../../controller/media/g711';
import { UplinkDsp } from '../../../controller/dsp/uplink-dsp';
import { DTMF_DIGITS, dtmfTone, type DtmfDigit } from '../../../controller/dsp/tone-generator';
import { UplinkAudit } from '../../../controller/secure/uplink-audit';
import { espeak, hasEspeak, hasMultimon, hasSpanDsp, multimonDetect, requirePeer, spandspDetect } from '../../lib/dsp-peers';
import { keyedAudio, pushThrough } from '../../lib/secure-caller';

const KEYS = '4111111111111111' + '1228' + '837';

/** Audit digits in linear audio sent as µ-law 20 ms payloads. */
function auditDigits(linear: Int16Array): number {
  const a = new UplinkAudit();
  for (let i = 0; i < linear.length; i += 160) a.feedPayload(encode('ulaw', linear.subarray(i, i + 160)), 'ulaw');
  return a.result.digitsFound;
}

/** What left the box, as the receiver hears it (µ-law decoded). */
function throughMaskedUplink(audio: Int16Array): Int16Array {
  const dsp = new UplinkDsp();
  dsp.enterSecure();
  const out = new Int16Array(audio.length);
  let o = 0;
  pushThrough(dsp, audio, (payload) => {
    decode('ulaw', payload, out.subarray(o, o + payload.length));
    o += payload.length;
  });
  return out;
}

describe('secure: the masking record second check against independent peers (SpanDSP dtmf_rx, multimon-ng)', function () {
  this.timeout(60_000);

  it('unmasked keyed card: the second check, SpanDSP and multimon-ng all find the 23 digits', function () {
    requirePeer(this, hasSpanDsp(), 'SpanDSP (libspandsp-dev + gcc)');
    requirePeer(this, hasMultimon(), 'multimon-ng + sox');
    const heard = decode('ulaw', encode('ulaw', keyedAudio(KEYS)));
    assert.equal(auditDigits(heard), 23);
    assert.equal(spandspDetect(heard).map((d) => d.digit).join(''), KEYS);
    assert.equal(multimonDetect(heard), KEYS);
  });

  it('masked uplink of the same keying: all three find nothing', function () {
    requirePeer(this, hasSpanDsp(), 'SpanDSP (libspandsp-dev + gcc)');
    requirePeer(this, hasMultimon(), 'multimon-ng + sox');
    const left = throughMaskedUplink(keyedAudio(KEYS));
    assert.equal(auditDigits(left), 0);
    assert.equal(spandspDetect(left).length, 0);
    assert.equal(multimonDetect(left), '');
  });

  it('at least as sensitive as the peers on short and quiet tones: whatever a peer decodes, the second check counts', function () {
    requirePeer(this, hasSpanDsp(), 'SpanDSP (libspandsp-dev + gcc)');
    requirePeer(this, hasMultimon(), 'multimon-ng + sox');
    const missed: string[] = [];
    let peerHits = 0;
    for (const durationMs of [20, 25, 30, 35, 40, 60]) {
      for (const levelDbm0 of [-6, -20, -30, -40, -45]) {
        const digit = DTMF_DIGITS[(durationMs + Math.abs(levelDbm0)) % 16] as DtmfDigit;
        const gap = new Int16Array(800);
        const tone = dtmfTone(digit, { durationMs, rowLevelDbm0: levelDbm0, colLevelDbm0: levelDbm0 + 2 });
        const audio = new Int16Array(gap.length * 2 + tone.length);
        audio.set(tone, gap.length);
        const heard = decode('ulaw', encode('ulaw', audio));
        const peer = spandspDetect(heard).length > 0 || multimonDetect(heard).length > 0;
        if (peer) peerHits++;
        if (peer && auditDigits(heard) === 0) missed.push(`${durationMs} ms at ${levelDbm0} dBm0`);
      }
    }
    assert.ok(peerHits > 0, 'the peers decoded some of the cases');
    assert.deepEqual(missed, []);
  });

  it('talk-off: no digit in espeak-ng speech (5 voices), sent as is or through the masked uplink', function () {
    requirePeer(this, hasEspeak(), 'espeak-ng + sox');
    const texts = [
      'Thank you for calling. Please key your card number now, then the expiry date and the security code.',
      'One two three four five six seven eight nine zero. Hello, can you hear me? Yes, I can hear you fine.',
      'The quick brown fox jumps over the lazy dog while the music plays softly in the background.',
    ];
    let samples = 0;
    for (const voice of ['en', 'en-us', 'en+f3', 'de', 'fr']) {
      for (const text of texts) {
        const speech = espeak(text, voice);
        samples += speech.length;
        assert.equal(auditDigits(speech), 0, `${voice}: ${text.slice(0, 20)}`);
        assert.equal(auditDigits(throughMaskedUplink(speech)), 0, `${voice} masked`);
      }
    }
    assert.ok(samples > 8000 * 60, 'over a minute of speech');
  });
});
