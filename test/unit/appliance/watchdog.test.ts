/**
 * Watchdog (sd_watchdog_enabled(3)): fed every WATCHDOG_USEC/2 only while every check passes;
 * health transitions drive the board's transfer relay. Manual clock, recording notifier.
 */
import assert from 'node:assert/strict';
import type { Clock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { EventLoopLagProbe, freshnessCheck, predicateCheck, systemdWatchdogMs, Watchdog, type WatchdogHealth } from '../../../controller/app/watchdog';
import { ManualClock } from '../../lib/manual-clock';

function setup(checks: (() => boolean)[], env: Record<string, string> = { WATCHDOG_USEC: '20000000' }) {
  const clock = new ManualClock();
  const pings: number[] = [];
  const notifier = { watchdog: () => void pings.push(clock.monotonicMs()) };
  const wd = new Watchdog({ notifier, clock, log: nullLogger, env, pid: 100, checks: checks.map((ok, i) => predicateCheck(`check${i}`, ok, `check${i} failed`)) });
  const events: WatchdogHealth[] = [];
  wd.on('health', (h) => events.push(h));
  return { clock, pings, wd, events };
}

describe('appliance: Watchdog', () => {
  it('reads WATCHDOG_USEC and WATCHDOG_PID as sd_watchdog_enabled(3) does', () => {
    assert.equal(systemdWatchdogMs({ WATCHDOG_USEC: '20000000' }, 7), 20000);
    assert.equal(systemdWatchdogMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '7' }, 7), 20000);
    assert.equal(systemdWatchdogMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '8' }, 7), undefined);
    assert.equal(systemdWatchdogMs({ WATCHDOG_USEC: '0' }, 7), undefined);
    assert.equal(systemdWatchdogMs({ WATCHDOG_USEC: '-5' }, 7), undefined);
    assert.equal(systemdWatchdogMs({}, 7), undefined);
  });

  it('pings every WATCHDOG_USEC/2 while all checks pass', () => {
    const { clock, pings, wd } = setup([() => true, () => true]);
    const t0 = clock.monotonicMs();
    wd.start();
    clock.advance(30_000);
    assert.equal(wd.tickMs, 10_000);
    assert.deepEqual(pings.map((t) => t - t0), [0, 10_000, 20_000, 30_000]);
    assert.equal(wd.health.healthy, true);
    wd.stop();
    assert.equal(clock.pending, 0);
  });

  it('withholds the ping while any check fails, so systemd restarts within one WatchdogSec', () => {
    let linkUp = true;
    const { clock, pings, wd, events } = setup([() => true, () => linkUp]);
    const t0 = clock.monotonicMs();
    wd.start();
    clock.advance(10_000);
    linkUp = false;
    clock.advance(30_000);
    assert.deepEqual(pings.map((t) => t - t0), [0, 10_000]);
    // The last ping was at 10 s; WatchdogSec is 20 s: systemd acts at 30 s, within one interval of the failure.
    assert.deepEqual(events.map((e) => e.healthy), [true, false]);
    assert.deepEqual(wd.health.failing, [{ name: 'check1', reason: 'check1 failed' }]);
    assert.equal(wd.health.withheld, 3);
    linkUp = true;
    clock.advance(10_000);
    assert.equal(pings.length, 3);
    assert.deepEqual(events.map((e) => e.healthy), [true, false, true]);
  });

  it('a check that throws counts as failed', () => {
    const { pings, wd } = setup([
      () => {
        throw new Error('media pipeline gone');
      },
    ]);
    wd.start();
    assert.equal(pings.length, 0);
    assert.equal(wd.health.failing[0]?.reason, 'check threw: media pipeline gone');
    wd.stop();
  });

  it('without a systemd watchdog it still judges health (for the relay) but never pings', () => {
    const clock = new ManualClock();
    let pinged = 0;
    const wd = new Watchdog({ notifier: { watchdog: () => void pinged++ }, clock, log: nullLogger, env: {}, checks: [], fallbackIntervalMs: 1000 });
    wd.start();
    clock.advance(5000);
    assert.equal(wd.tickMs, 1000);
    assert.equal(pinged, 0);
    assert.equal(wd.health.healthy, true);
    assert.equal(wd.health.watchdogMs, undefined);
    wd.stop();
  });

  it('freshnessCheck fails when the card link was last seen too long ago, or never', () => {
    const clock = new ManualClock();
    const link: { seenMs: number | undefined } = { seenMs: undefined };
    const check = freshnessCheck('card-link', clock, () => link.seenMs, 3000);
    assert.deepEqual(check.run(), { ok: false, reason: 'never seen' });
    link.seenMs = clock.monotonicMs();
    clock.advance(3000);
    assert.deepEqual(check.run(), { ok: true });
    clock.advance(1);
    assert.deepEqual(check.run(), { ok: false, reason: 'last seen 3001 ms ago, limit 3000 ms' });
  });

  it('EventLoopLagProbe reports the worst lateness of its timer since the last check', () => {
    // A clock whose time the test sets, and whose interval the test fires: lateness is explicit.
    let nowMs = 0;
    let tick: (() => void) | undefined;
    const clock: Clock = {
      now: () => nowMs,
      monotonicMs: () => nowMs,
      setTimeout: () => ({ cancel: () => undefined }),
      setInterval: (fn) => ((tick = fn), { cancel: () => (tick = undefined) }),
    };
    const fire = (atMs: number): void => {
      nowMs = atMs;
      tick?.();
    };
    const probe = new EventLoopLagProbe(clock, 250);
    const check = probe.check(100);
    assert.deepEqual(check.run(), { ok: false, reason: 'lag probe not started' });
    probe.start();
    fire(250);
    fire(500);
    fire(760);
    assert.deepEqual(check.run(), { ok: true });
    fire(1010);
    fire(1660); // due at 1260: a 400 ms stall
    fire(1910);
    assert.deepEqual(check.run(), { ok: false, reason: 'event loop lagged 400 ms, limit 100 ms' });
    assert.deepEqual(check.run(), { ok: true });
    probe.stop();
    assert.equal(tick, undefined);
  });
});
