/** The reporter against the embedded aedes broker (MQTT 3.1.1): the demo's configuration. */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../../controller/fleet/embedded-broker';
import { createFleetHarness, type FleetHarness } from '../../lib/fleet-harness';
import { FleetSubscriber } from '../../lib/fleet-subscriber';

describe('fleet reporter with the embedded aedes broker', function () {
  this.timeout(30_000);
  let broker: EmbeddedBroker;
  let h: FleetHarness;
  let sub: FleetSubscriber;

  beforeEach(async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, log: nullLogger });
    h = createFleetHarness(broker.url, { protocolVersion: broker.protocolVersion });
    sub = await FleetSubscriber.connect(broker.url, [`${h.root}/#`], { protocolVersion: 4 });
  });
  afterEach(async () => {
    await sub.close();
    await h.dispose();
    await broker.stop();
  });

  it('picks a free port when asked for port 0', () => {
    assert.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(broker.port > 0);
  });

  it('publishes status online then info, delivers outbox events in order, and says offline on stop', async () => {
    const before = h.store.transaction(() => h.store.outbox.append('events/system', { what: 'before-connect' }));
    h.reporter.start();
    const online = await sub.waitFor('status online', (m) => m.find((x) => x.topic === `${h.root}/status` && x.json?.['state'] === 'online'));
    assert.equal(online.json?.['reason'], 'startup');
    assert.equal(online.json?.['conn'], 1);
    assert.equal(online.retain, false, 'live delivery to an existing subscriber is not flagged retained');
    const statusIdx = sub.messages.indexOf(online);
    const info = await sub.waitFor('info', (m) => m.find((x) => x.topic === `${h.root}/info`));
    assert.ok(sub.messages.indexOf(info) > statusIdx, 'info after status');
    assert.equal(info.json?.['site'], 'test-site');

    const appended = Array.from({ length: 20 }, (_, i) => h.store.transaction(() => h.store.outbox.append('events/call', { i })));
    h.reporter.kick();
    const events = await sub.waitFor('21 events', (m) => {
      const e = m.filter((x) => x.topic.startsWith(`${h.root}/events/`));
      return e.length >= 21 ? e : undefined;
    });
    assert.equal(events[0]?.json?.['id'], before.id);
    assert.equal(events[0]?.json?.['historical'], true, 'created before the connection existed');
    assert.deepEqual(events.slice(1).map((e) => (e.json?.['data'] as { i: number }).i), appended.map((_, i) => i));
    assert.ok(events.slice(1).every((e) => e.json?.['historical'] === undefined));
    assert.equal(new Set(events.map((e) => e.json?.['id'])).size, 21);
    await FleetSubscriber.until('outbox drained', () => h.store.outbox.depth() === 0);

    await h.reporter.stop();
    const off = await sub.waitFor('status offline', (m) => m.find((x) => x.topic === `${h.root}/status` && x.json?.['state'] === 'offline'));
    assert.equal(off.json?.['reason'], 'shutdown');
  });
});
