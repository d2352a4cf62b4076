import assert from 'node:assert/strict';
import { luhnValid } from '../../../hw/base/card-guard';
import { demoCardKeys } from '../../../hw/sim/call-script';

describe('demo caller keypresses', () => {
  it('keys a Luhn-valid 16-digit card number, a future expiry and a 3-digit code, each ended by #', () => {
    const now = Date.UTC(2026, 10, 22);
    for (let seed = 1; seed <= 50; seed++) {
      const [pan, expiry, code, rest] = demoCardKeys(seed, now).split('#');
      assert.match(pan ?? '', /^4\d{15}$/);
      assert.ok(luhnValid([...(pan ?? '')].map(Number)), `seed ${seed}`);
      assert.match(expiry ?? '', /^(0[1-9]|1[0-2])28$/);
      assert.match(code ?? '', /^\d{3}$/);
      assert.equal(rest, '');
    }
  });

  it('differs from seed to seed and is reproducible for one seed', () => {
    const now = Date.UTC(2026, 10, 22);
    assert.equal(demoCardKeys(7, now), demoCardKeys(7, now));
    assert.notEqual(demoCardKeys(7, now), demoCardKeys(8, now));
  });
});
