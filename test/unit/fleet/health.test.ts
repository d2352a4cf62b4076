/** health (DESIGN.md §6): the pure evaluation and the monitor's change / debounce / heartbeat rules. */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { evaluateHealth, HealthMonitor, type HealthSource } from '../../../controller/fleet/health';
import { checkPayload } from '../../../controller/fleet/payload-schemas';
import type { HealthBody } from '../../../controller/fleet/topics';
import { ManualClock } from '../../lib/manual-clock';

const NOW = 1_767_000_000_000;
const DAY = 86_400_000;
const env = { v: 1, ts: NOW, dev: 'tw-unit-0001', boot: 'b', conn: 1, seq: 1 };

describe('fleet health', () => {
  it('all providers fine → ok; every check present and schema-valid', () => {
    const h = evaluateHealth(
      {
        cardLink: () => ({ state: 'up' }),
        spans: () => ({ up: 1, total: 1 }),
        sipTrunks: () => ({ up: 2, total: 2 }),
        masking: () => ({ faults: 0 }),
        disk: () => ({ freeBytes: 50, totalBytes: 100 }),
        temperature: () => ({ celsius: 45.5, zone: 'cpu-thermal' }),
        clockSync: () => ({ synchronized: true, source: 'timedatectl' }),
        outbox: () => ({ depth: 3, maxRows: 100 }),
        native: () => ({ loaded: true }),
        mqttCertNotAfterMs: () => NOW + 400 * DAY,
      },
      NOW,
    );
    assert.equal(h.overall, 'ok');
    assert.deepEqual(Object.keys(h.checks).sort(), ['cardLink', 'clockSync', 'disk', 'masking', 'mqttCert', 'native', 'outbox', 'sipTrunks', 'spans', 'temperature']);
    assert.equal(h.checks.mqttCert?.daysLeft, 400);
    assert.equal(checkPayload('health', { ...env, ...h }), undefined);
  });

  it('absent providers leave their checks out; an analog card has no spans check', () => {
    const h = evaluateHealth({ cardLink: () => ({ state: 'up' }), spans: () => ({ up: 0, total: 0 }), temperature: () => undefined }, NOW);
    assert.deepEqual(Object.keys(h.checks), ['cardLink']);
  });

  it('overall is the worst check: JS fallback degrades, card link down fails', () => {
    assert.equal(evaluateHealth({ native: () => ({ loaded: false, error: 'no addon for arm64' }) }, NOW).overall, 'degraded');
    assert.equal(evaluateHealth({ native: () => ({ loaded: false }), cardLink: () => ({ state: 'connecting' }) }, NOW).overall, 'failed');
  });

  it('thresholds: disk < 10 % degraded, < 2 % failed; outbox ≥ 80 % degraded, full failed; cert < 30 days degraded, expired failed', () => {
    const one = (src: HealthSource) => evaluateHealth(src, NOW).overall;
    assert.equal(one({ disk: () => ({ freeBytes: 9, totalBytes: 100 }) }), 'degraded');
    assert.equal(one({ disk: () => ({ freeBytes: 1, totalBytes: 100 }) }), 'failed');
    assert.equal(one({ outbox: () => ({ depth: 80, maxRows: 100 }) }), 'degraded');
    assert.equal(one({ outbox: () => ({ depth: 100, maxRows: 100 }) }), 'failed');
    assert.equal(one({ mqttCertNotAfterMs: () => NOW + 10 * DAY }), 'degraded');
    assert.equal(one({ mqttCertNotAfterMs: () => NOW - DAY }), 'failed');
    assert.equal(one({ spans: () => ({ up: 1, total: 2 }) }), 'degraded');
    assert.equal(one({ sipTrunks: () => ({ up: 0, total: 1 }) }), 'failed');
  });

  it('a provider that throws degrades overall instead of breaking the report', () => {
    const h = evaluateHealth({ disk: () => { throw new Error('statfs failed'); }, cardLink: () => ({ state: 'up' }) }, NOW);
    assert.equal(h.overall, 'degraded');
    assert.equal(h.checks.disk, undefined);
  });

  it('monitor: publishes at start, on a status change (debounced), not on drifting values, and every interval', () => {
    const clock = new ManualClock(NOW);
    const published: HealthBody[] = [];
    let link = 'up';
    let free = 50;
    const m = new HealthMonitor({
      source: { cardLink: () => ({ state: link }), disk: () => ({ freeBytes: free, totalBytes: 100 }) },
      clock, log: nullLogger, publish: (b) => published.push(b), intervalMs: 60_000, sampleMs: 1000, debounceMs: 2000,
    });
    m.start();
    assert.equal(published.length, 1);
    free = 40;
    clock.advance(5000);
    assert.equal(published.length, 1, 'free bytes drift is not a change');
    link = 'down';
    clock.advance(1000);
    assert.equal(published.length, 2);
    assert.equal(published[1]?.overall, 'failed');
    link = 'up';
    clock.advance(1000); // sampled 1 s after the last publish: held back by the debounce
    assert.equal(published.length, 2);
    clock.advance(2000);
    assert.equal(published.length, 3);
    assert.equal(published[2]?.overall, 'ok');
    clock.advance(60_000);
    assert.ok(published.length >= 4, 'heartbeat');
    m.stop();
    assert.equal(clock.pending, 0, 'stop clears every timer');
  });

  it('monitor: new timing restarts the timers (heartbeat at the new interval)', () => {
    const clock = new ManualClock(NOW);
    let n = 0;
    const m = new HealthMonitor({ source: {}, clock, log: nullLogger, publish: () => n++, intervalMs: 60_000, sampleMs: 1000, debounceMs: 0 });
    m.start();
    m.setTiming({ intervalMs: 10_000, sampleMs: 1000, debounceMs: 0 });
    const after = n;
    clock.advance(10_000);
    assert.equal(n, after + 1);
    m.stop();
    assert.equal(clock.pending, 0);
  });
});
