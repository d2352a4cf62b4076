import assert from 'node:assert/strict';
import { backoffDelayMs } from '../../../controller/fleet/backoff';

describe('fleet/backoff (jittered exponential reconnect)', () => {
  it('stays within [min, max] for every attempt and random value', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const r of [0, 0.25, 0.5, 0.999, 1]) {
        const d = backoffDelayMs(attempt, 1000, 60_000, () => r);
        assert.ok(d >= 1000 && d <= 60_000, `attempt ${attempt} r ${r}: ${d}`);
      }
    }
  });

  it('grows exponentially: attempt n spans [min·2^n, min·2^(n+1)] until the cap', () => {
    assert.equal(backoffDelayMs(0, 1000, 60_000, () => 0), 1000);
    assert.equal(backoffDelayMs(0, 1000, 60_000, () => 1), 2000);
    assert.equal(backoffDelayMs(3, 1000, 60_000, () => 0), 8000);
    assert.equal(backoffDelayMs(3, 1000, 60_000, () => 1), 16_000);
  });

  it('keeps a jitter band once saturated (no fleet-wide lockstep)', () => {
    assert.equal(backoffDelayMs(30, 1000, 60_000, () => 0), 30_000);
    assert.equal(backoffDelayMs(30, 1000, 60_000, () => 1), 60_000);
    const spread = new Set(Array.from({ length: 200 }, () => backoffDelayMs(30, 1000, 60_000)));
    assert.ok(spread.size > 50, `only ${spread.size} distinct delays`);
  });

  it('refuses bounds that are not 0 < min <= max', () => {
    assert.throws(() => backoffDelayMs(0, 0, 10), /reconnect bounds 0\.\.10 ms/);
    assert.throws(() => backoffDelayMs(0, 100, 10), /reconnect bounds 100\.\.10 ms/);
  });
});
