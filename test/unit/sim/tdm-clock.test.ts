import assert from 'node:assert/strict';
import { DriftCorrectedTdmClock } from '../../../hw/sim/tdm-clock';
import { ManualClock } from '../../lib/manual-clock';
import type { Clock } from '../../../hw/base/clock';

/** A clock whose timers always fire `lateMs` late (a busy event loop). */
function lateClock(base: ManualClock, lateMs: number): Clock {
  return {
    now: () => base.now(),
    monotonicMs: () => base.monotonicMs(),
    setTimeout: (fn, ms) => base.setTimeout(fn, ms + lateMs),
    setInterval: (fn, ms) => base.setInterval(fn, ms),
  };
}

describe('sim TDM clock (drift-corrected 10 ms ticks)', () => {
  it('runs exactly 100 ticks per second of clock time', () => {
    const clock = new ManualClock();
    const tdm = new DriftCorrectedTdmClock(clock);
    let n = 0;
    tdm.start(() => n++);
    clock.advance(1000);
    assert.equal(n, 100);
    clock.advance(9000);
    assert.equal(n, 1000);
    tdm.stop();
    clock.advance(1000);
    assert.equal(n, 1000);
    assert.equal(clock.pending, 0);
  });

  it('does not accumulate timer lateness: 3 ms late timers still give ≥ 99 ticks per second', () => {
    const base = new ManualClock();
    const tdm = new DriftCorrectedTdmClock(lateClock(base, 3));
    let n = 0;
    tdm.start(() => n++);
    base.advance(10_000);
    assert.ok(n >= 999 && n <= 1000, `${n} ticks in 10 s`);
    tdm.stop();
  });

  it('catches up after a stall up to its limit and counts the rest as slips', () => {
    const base = new ManualClock();
    const tdm = new DriftCorrectedTdmClock(lateClock(base, 2000), 50);
    let n = 0;
    tdm.start(() => n++);
    base.advance(2010);
    assert.equal(n, 50);
    assert.equal(tdm.slips, 151);
    tdm.stop();
  });
});
