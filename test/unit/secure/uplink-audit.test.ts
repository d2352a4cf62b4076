import assert from 'node:assert/strict';
import { encode } from '../../../controller/media/g711';
import { UplinkDsp } from '../../../controller/dsp/uplink-dsp';
import { MASK_STYLES } from '../../../controller/dsp/replacement';
import { addTones, dtmfTone } from '../../../controller/dsp/tone-generator';
import { UplinkAudit } from '../../../controller/secure/uplink-audit';
import { computeMaskingRecord } from '../../../controller/secure/masking-record';
import { keyedAudio, pushThrough } from '../../lib/secure-caller';

describe('secure: second-check detector over encoded uplink (masking record)', () => {
  it('finds every digit of unmasked keyed audio sent as µ-law and as A-law', () => {
    for (const law of ['ulaw', 'alaw'] as const) {
      const audit = new UplinkAudit();
      const audio = keyedAudio('4111111111111111' + '1228' + '837');
      for (let i = 0; i < audio.length; i += 160) audit.feedPayload(encode(law, audio.subarray(i, i + 160)), law);
      assert.equal(audit.result.digitsFound, 23, law);
      assert.equal(audit.result.samplesChecked, audio.length);
    }
  });

  it('is more sensitive than Q.24 reporting: a 35 ms tone at -30 dBm0 counts', () => {
    const audit = new UplinkAudit();
    audit.feedLinear(new Int16Array(400));
    audit.feedLinear(dtmfTone('9', { durationMs: 35, rowLevelDbm0: -30, colLevelDbm0: -30 }));
    audit.feedLinear(new Int16Array(400));
    assert.equal(audit.result.digitsFound, 1);
  });

  it('ignores single tones, the masker beep, silence and low noise', () => {
    const audit = new UplinkAudit();
    const single = new Int16Array(8000);
    addTones(single, 0, 4000, [{ hz: 697, levelDbm0: -10 }]);
    addTones(single, 4000, 4000, [{ hz: 500, levelDbm0: -16 }]);
    audit.feedLinear(single);
    assert.equal(audit.result.digitsFound, 0);
    assert.equal(audit.result.suspectWindows, 0);
  });

  for (const style of MASK_STYLES) {
    it(`finds nothing in what UplinkDsp lets out in secure mode (style ${style})`, () => {
      const dsp = new UplinkDsp({ style });
      dsp.enterSecure();
      const audit = new UplinkAudit();
      pushThrough(dsp, keyedAudio('5555555555554444' + '0931' + '123'), (payload) => audit.feedPayload(payload, 'ulaw'));
      assert.equal(dsp.maskedTones, 23);
      assert.equal(audit.result.digitsFound, 0);
    });
  }

  it('the masking record takes the masked-tone delta and flags a found digit as not clean', () => {
    const audit = { samplesChecked: 8000, digitsFound: 1, suspectWindows: 3 };
    const rec = computeMaskingRecord({ maskedTonesAtStart: 10, maskedTonesAtEnd: 33, faulted: false, detector: 'goertzel-205-g711', audit });
    assert.deepEqual(rec, {
      maskedTones: 23,
      faulted: false,
      secondCheck: { detector: 'goertzel-205-g711', ran: true, samplesChecked: 8000, digitsFound: 1, suspectWindows: 3 },
      clean: false,
    });
    const none = computeMaskingRecord({ maskedTonesAtStart: 0, maskedTonesAtEnd: 0, faulted: true, detector: 'd', audit: { samplesChecked: 0, digitsFound: 0, suspectWindows: 0 } });
    assert.equal(none.secondCheck.ran, false);
    assert.equal(none.clean, true);
  });
});
