/** metrics (DESIGN.md §6): samples, kinds, expiry 2× interval, live interval change. */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { MetricsPublisher, fleetMetricDefs, sampleMetrics, type MetricDef } from '../../../controller/fleet/metrics';
import type { FleetMetrics } from '../../../controller/fleet/reporter-types';
import { checkPayload } from '../../../controller/fleet/payload-schemas';
import type { MetricsBody } from '../../../controller/fleet/topics';
import { ManualClock } from '../../lib/manual-clock';

describe('fleet metrics', () => {
  const defs: MetricDef[] = [
    { name: 'calls.total', kind: 'counter', read: () => 7 },
    { name: 'calls.active', kind: 'gauge', read: () => 2 },
    { name: 'logger.cardGuardRefusals', kind: 'counter', read: () => undefined },
    { name: 'bad.counter', kind: 'counter', read: () => -1 },
    { name: 'throws', kind: 'gauge', read: () => { throw new Error('x'); } },
    { name: 'process.rssBytes', kind: 'gauge', read: () => 123.5 },
  ];

  it('the reporter\'s own figures: late wills healed (counter) and batched acks not yet committed (gauge) beside the outbox depth', () => {
    const m: FleetMetrics = {
      connected: true, conn: 3, connectAttempts: 3, sessions: 2, connectFailures: 1, published: 40, publishErrors: 0, guardRefused: 0, schemaRefused: 0,
      eventsPublished: 30, eventsHistorical: 4, eventsFailed: 0, eventsRefused: 0, outboxDepth: 12, outboxNearFull: false, lateWillsHealed: 1, acksPending: 5,
    };
    const s = sampleMetrics(fleetMetricDefs(() => m), 60, () => []);
    assert.equal(s.counters['fleet.lateWillsHealed'], 1);
    assert.deepEqual(s.gauges, { 'outbox.depth': 12, 'outbox.acksPending': 5 });
    assert.equal(checkPayload('metrics', { v: 1, ts: 1, dev: 'd', boot: 'b', conn: 1, seq: 1, ...s }), undefined);
  });

  it('a sample holds counters and gauges; unknown, negative-counter and throwing readers are left out', () => {
    const s = sampleMetrics(defs, 60, () => [{ callId: 'c1', leg: 'uplink', rtpPackets: 100, rtpLost: 1, jitterMs: 2.5 }]);
    assert.deepEqual(s.counters, { 'calls.total': 7 });
    assert.deepEqual(s.gauges, { 'calls.active': 2, 'process.rssBytes': 123.5 });
    assert.equal(s.legs?.length, 1);
    assert.equal(checkPayload('metrics', { v: 1, ts: 1, dev: 'd', boot: 'b', conn: 1, seq: 1, ...s }), undefined);
  });

  it('publishes every interval with expiry 2× the interval; counts samples dropped offline; the interval changes live', () => {
    const clock = new ManualClock();
    const sent: { body: MetricsBody; expiryS: number }[] = [];
    let online = true;
    const p = new MetricsPublisher({ metrics: defs, clock, log: nullLogger, intervalMs: 30_000, publish: (body, expiryS) => (online ? sent.push({ body, expiryS }) > 0 : false) });
    assert.deepEqual(p.names, ['bad.counter', 'calls.active', 'calls.total', 'logger.cardGuardRefusals', 'process.rssBytes', 'throws']);
    p.start();
    clock.advance(30_000);
    assert.equal(sent.length, 1);
    assert.deepEqual([sent[0]?.body.intervalS, sent[0]?.expiryS], [30, 60]);
    online = false;
    clock.advance(30_000);
    assert.equal(p.dropped, 1);
    online = true;
    p.setIntervalMs(10_000);
    clock.advance(10_000);
    assert.deepEqual([sent.length, sent[1]?.expiryS], [2, 20]);
    p.stop();
    assert.equal(clock.pending, 0);
  });
});
