/**
 * Policy `payments.blankDuringSecurityCode` end to end: PaymentsService puts the call's real UplinkDsp
 * in blanking while the security code is the current field. A caller who reads the code aloud is not
 * heard (energy and correlation on the decoded µ-law payloads that left); speech before the code and
 * after it is; with the policy off the same speech passes.
 */
import assert from 'node:assert/strict';
import { COMFORT_NOISE_DBM0 } from '../../../controller/dsp/replacement';
import { dbm0ToPeak } from '../../../controller/dsp/tone-generator';
import { requireOpenssl } from '../../lib/secure-certs';
import { assertNoCardData, futureExpiry, TEST_CARDS } from '../../lib/secure-cards';
import { keyedAudio } from '../../lib/secure-caller';
import { speechLike } from '../../lib/dsp-signals';
import { startPaymentsService, type ServiceRig } from '../../lib/secure-service';

const CVV = '837';
const COMFORT_MAX_RMS = dbm0ToPeak(COMFORT_NOISE_DBM0 + 6);

function rms(x: Int16Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

/** Best normalised correlation of `out` with `ref` over lags 0–400 samples (the lookahead is 160). */
function correlation(ref: Int16Array, out: Int16Array): number {
  let best = 0;
  for (let lag = 0; lag <= 400; lag += 1) {
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let i = 0; i + lag < out.length && i < ref.length; i++) {
      const x = ref[i] as number;
      const y = out[i + lag] as number;
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    if (xx > 0 && yy > 0) best = Math.max(best, Math.abs(xy) / Math.sqrt(xx * yy));
  }
  return best;
}

describe('secure: blanking the uplink while the security code is keyed (PaymentsService + UplinkDsp)', function () {
  this.timeout(20_000);
  const expiry = futureExpiry(Date.now());
  const before = speechLike(1200, 21);
  const during = speechLike(1200, 22);
  const after = speechLike(1200, 23);
  let rig: ServiceRig | undefined;

  beforeEach(function () {
    requireOpenssl(this);
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /** Keys the card and expiry, speaks, keys the code, speaks; returns what left of each speech part. */
  async function pay(blank: boolean) {
    rig = await startPaymentsService({ blankDuringSecurityCode: blank, processor: { alg: 'ECDH-ES' } });
    rig.uplink('call-1');
    const started = rig.service.command('start', { requestId: 'r-1', callId: 'call-1', amountMinor: 700, currency: 'USD', reference: 'blank-1' });
    assert.ok(started.ok);
    const ended = rig.nextEnd();
    rig.feed('call-1', keyedAudio(TEST_CARDS.visa.slice(0, 8)));
    const heardBefore = rig.feed('call-1', before);
    rig.feed('call-1', keyedAudio(TEST_CARDS.visa.slice(8) + expiry));
    const heardDuring = rig.feed('call-1', during);
    rig.feed('call-1', keyedAudio(CVV));
    const heardAfter = rig.feed('call-1', after);
    const end = await ended;
    assert.equal(end.state, 'approved', JSON.stringify(end));
    assertNoCardData(rig.texts(), { pan: TEST_CARDS.visa, expiry, cvv: CVV });
    return { heardBefore, heardDuring, heardAfter, end };
  }

  it('policy on: speech during security-code entry does not leave; before and after it does', async () => {
    const r = await pay(true);
    assert.ok(rms(r.heardDuring) <= COMFORT_MAX_RMS, `during: rms ${rms(r.heardDuring)}`);
    assert.ok(correlation(during, r.heardDuring) < 0.1, `during: correlation ${correlation(during, r.heardDuring)}`);
    assert.ok(correlation(before, r.heardBefore) > 0.5, `before: correlation ${correlation(before, r.heardBefore)}`);
    assert.ok(correlation(after, r.heardAfter) > 0.5, `after: correlation ${correlation(after, r.heardAfter)}`);
    assert.ok(rms(r.heardAfter) > 4 * COMFORT_MAX_RMS);
  });

  it('policy off: the same speech during security-code entry passes', async () => {
    const r = await pay(false);
    assert.ok(correlation(during, r.heardDuring) > 0.5, `during: correlation ${correlation(during, r.heardDuring)}`);
    assert.ok(rms(r.heardDuring) > 4 * COMFORT_MAX_RMS);
  });
});
