/**
 * Reporter logic against a strict fake MQTT client and a manual clock (real temp SQLite store):
 * handler order, will per CONNECT, our own jittered reconnect, publish order, outbox acks, replay.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { DEFAULT_ACK_BATCH } from '../../../controller/fleet/outbox-pump';
import { FleetReporter } from '../../../controller/fleet/reporter';
import { Store } from '../../../controller/store/store';
import { type FakeMqttClient, fakeConnector, flushPromises } from '../../lib/fleet-fake-mqtt';
import { ManualClock } from '../../lib/manual-clock';

describe('fleet reporter logic (fake MQTT client, manual clock)', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let fake: ReturnType<typeof fakeConnector>;
  let reporter: FleetReporter;
  const cfg = configSchema.parse({ device: { id: 'tw-unit-0001' }, mqtt: { reconnectMinMs: 100, reconnectMaxMs: 1000, willDelayS: 15, sessionExpiryS: 300 } });
  const root = 'tonewall/v1/tw-unit-0001';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-fleet-fake-'));
    clock = new ManualClock(1_767_000_000_000);
    store = Store.open({ path: join(dir, 'db.sqlite'), log: nullLogger, clock });
    fake = fakeConnector();
    reporter = new FleetReporter({
      mqtt: cfg.mqtt, device: cfg.device, store, log: nullLogger, clock, connect: fake.connect,
      info: () => ({ site: 'lon' }), random: () => 0, eventWindow: 2, firmware: { version: '1.2.3', slot: 'B' },
    });
  });
  afterEach(async () => {
    const p = reporter.stop();
    clock.advance(10_000);
    await p;
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (i: number): FakeMqttClient => {
    const c = fake.clients[i];
    assert.ok(c, `client #${i} was not created (have ${fake.clients.length})`);
    return c;
  };

  it('attaches handlers before connecting and builds the will with this CONNECT’s conn', () => {
    reporter.start();
    const c = client(0);
    assert.ok((c.listenersAtConnect?.['message'] ?? 0) > 0, 'message handler attached before connect()');
    assert.ok((c.listenersAtConnect?.['close'] ?? 0) > 0);
    assert.equal(c.options.reconnectPeriod, 0);
    assert.equal(c.options.clientId, 'tw-unit-0001');
    assert.equal(c.options.will?.topic, `${root}/status`);
    const will = JSON.parse(c.options.will?.payload.toString() ?? '{}') as Record<string, unknown>;
    assert.deepEqual([will['state'], will['reason'], will['conn'], will['fw'], will['slot']], ['offline', 'lwt', 1, '1.2.3', 'B']);
    assert.equal(store.deviceState.get('mqtt.conn'), '1');
  });

  it('reconnects with growing jittered backoff, a fresh client and a new conn each time', () => {
    reporter.start();
    client(0).drop(); // refused before CONNACK
    clock.advance(99);
    assert.equal(fake.clients.length, 1, 'no retry before the backoff delay (attempt 0, random 0 → 100 ms)');
    clock.advance(1);
    assert.equal(fake.clients.length, 2);
    assert.ok(client(0).ended, 'the failed client is closed');
    const will2 = JSON.parse(client(1).options.will?.payload.toString() ?? '{}') as Record<string, unknown>;
    assert.equal(will2['conn'], 2);
    client(1).drop();
    clock.advance(199);
    assert.equal(fake.clients.length, 2, 'attempt 1 waits 200 ms');
    clock.advance(1);
    assert.equal(fake.clients.length, 3);
    client(2).connack();
    client(2).drop();
    clock.advance(100);
    assert.equal(fake.clients.length, 4, 'a successful session resets the backoff');
    assert.equal(reporter.metrics.connectAttempts, 4);
    assert.equal(reporter.metrics.connectFailures, 2);
  });

  it('on CONNACK publishes status online, then info, then events, with MQTT 5 properties', async () => {
    const pre = store.outbox.append('events/system', { what: 'startup' });
    reporter.start();
    client(0).connack();
    const [status, info, ev] = client(0).published;
    assert.equal(status?.topic, `${root}/status`);
    assert.deepEqual([status?.json?.['state'], status?.json?.['reason'], status?.json?.['conn']], ['online', 'startup', 1]);
    assert.deepEqual([status?.opts.qos, status?.opts.retain], [1, true]);
    assert.equal(status?.opts.properties?.contentType, 'application/json');
    assert.equal(info?.topic, `${root}/info`);
    assert.equal(info?.json?.['site'], 'lon');
    assert.equal(ev?.topic, `${root}/events/system`);
    assert.deepEqual([ev?.json?.['id'], ev?.json?.['historical'], ev?.opts.retain], [pre.id, true, false]);
    assert.ok(Number(status?.json?.['seq']) < Number(info?.json?.['seq']));
    assert.equal(store.outbox.depth(), 1, 'not acked before PUBACK');
    client(0).pubackAll();
    await flushPromises();
    assert.equal(store.outbox.depth(), 1, 'acknowledgement batched: committed at the ack-batch delay');
    clock.advance(DEFAULT_ACK_BATCH.maxDelayMs);
    assert.equal(store.outbox.depth(), 0);
  });

  it('keeps at most `eventWindow` events in flight and resends unacked ones after a reconnect', async () => {
    reporter.start();
    client(0).connack();
    client(0).pubackAll(); // status, info
    await flushPromises();
    for (let i = 0; i < 5; i++) store.outbox.append('events/call', { i });
    reporter.kick();
    const evs0 = () => client(0).published.filter((p) => p.topic.includes('/events/'));
    assert.deepEqual(evs0().map((p) => (p.json?.['data'] as { i: number }).i), [0, 1]);
    client(0).puback(2);
    await flushPromises();
    assert.deepEqual(evs0().map((p) => (p.json?.['data'] as { i: number }).i), [0, 1, 2]);
    client(0).drop(); // #1 and #2 in flight, unacked
    assert.equal(store.outbox.depth(), 4);
    clock.advance(100);
    client(1).connack();
    const evs1 = client(1).published.filter((p) => p.topic.includes('/events/'));
    assert.deepEqual(evs1.map((p) => (p.json?.['data'] as { i: number }).i), [1, 2]);
    assert.ok(evs1.every((p) => p.json?.['historical'] === true && p.json['conn'] === 2));
    client(1).pubackAll();
    await flushPromises();
    client(1).pubackAll();
    await flushPromises();
    clock.advance(DEFAULT_ACK_BATCH.maxDelayMs);
    assert.equal(store.outbox.depth(), 0);
    assert.equal(reporter.metrics.eventsPublished, 5);
  });

  it('late-will self-heal: subscribes its own status; an older conn\'s offline after the online echo is answered with online', async () => {
    reporter.start();
    client(0).drop();
    clock.advance(1000);
    client(1).connack();
    assert.ok(client(1).subscriptions.includes(`${root}/status`));
    const onlineCount = (): number => client(1).published.filter((p) => p.topic === `${root}/status` && p.json?.['state'] === 'online').length;
    const before = onlineCount();
    const status = (state: string, conn: number, retain: boolean): void => {
      const payload = Buffer.from(JSON.stringify({ v: 1, ts: 1, dev: 'tw-unit-0001', boot: 'x', conn, seq: 1, state, reason: state === 'online' ? 'reconnect' : 'lwt', fw: '1.2.3', slot: 'B' }));
      client(1).emit('message', `${root}/status`, payload, { cmd: 'publish', topic: `${root}/status`, payload, retain, qos: 1, dup: false });
    };
    status('offline', 1, true); // retained on subscribe: the online that follows the SUBSCRIBE replaces it
    status('offline', 1, false); // before this connection's online came back (e.g. queued in the session): replaced too
    status('online', 2, false); // the echo of this connection's online
    status('offline', 2, false); // this connection's own conn: not stale
    assert.equal(onlineCount(), before);
    status('offline', 1, false); // conn 1's late will, after the echo: it is now the retained status
    await flushPromises();
    assert.equal(onlineCount(), before + 1);
    const last = client(1).published.at(-1);
    assert.deepEqual([last?.json?.['state'], last?.json?.['conn'], last?.opts.retain], ['online', 2, true]);
    assert.equal(reporter.lateWillsHealed, 1);
  });

  it('a PUBACK error keeps the event pending and retries it on the next poll', async () => {
    reporter.start();
    client(0).connack();
    client(0).pubackAll();
    await flushPromises();
    store.outbox.append('events/call', { i: 0 });
    reporter.kick();
    client(0).puback(2, new Error('Publish error: Not authorized'));
    await flushPromises();
    assert.equal(store.outbox.depth(), 1);
    assert.equal(client(0).published.length, 3, 'no hot retry loop');
    clock.advance(1000); // poll
    assert.equal(client(0).published.length, 4);
    client(0).puback(3);
    await flushPromises();
    clock.advance(DEFAULT_ACK_BATCH.maxDelayMs);
    assert.equal(store.outbox.depth(), 0);
    assert.equal(reporter.metrics.eventsFailed, 1);
  });

  it('call snapshots: published retained with expiry when online; a clear made offline goes out on connect', () => {
    reporter.start();
    reporter.setCallSnapshot('c-9', { callId: 'c-9', state: 'active', dir: 'in', startedAt: 1, payActive: false });
    reporter.setCallSnapshot('c-9', null);
    reporter.setCallSnapshot('c-10', { callId: 'c-10', state: 'ringing', dir: 'out', startedAt: 2, payActive: false });
    client(0).connack();
    const calls = client(0).published.filter((p) => p.topic.includes('/calls/'));
    assert.deepEqual(calls.map((p) => [p.topic.split('/').pop(), p.payload === '' ? 'clear' : p.json?.['state'], p.opts.retain]), [
      ['c-9', 'clear', true],
      ['c-10', 'ringing', true],
    ]);
    assert.equal(calls[1]?.opts.properties?.messageExpiryInterval, cfg.mqtt.callSnapshotExpiryS);
    assert.throws(() => reporter.setCallSnapshot('c-11', { callId: 'other', state: 'active', dir: 'in', startedAt: 1, payActive: false }), /carries callId "other"/);
  });

  it('stop publishes offline/shutdown then a normal DISCONNECT (reason 0: no will)', async () => {
    reporter.start();
    client(0).connack();
    client(0).pubackAll();
    const stopping = reporter.stop();
    const off = client(0).published.at(-1);
    assert.deepEqual([off?.json?.['state'], off?.json?.['reason'], off?.opts.retain], ['offline', 'shutdown', true]);
    client(0).pubackAll();
    await stopping;
    assert.deepEqual(client(0).endArgs, { force: false, reasonCode: 0 });
  });

  it('stop does not hang on a broker that never acknowledges', async () => {
    reporter.start();
    client(0).connack();
    const stopping = reporter.stop();
    await flushPromises();
    clock.advance(3000);
    await stopping;
    assert.equal(client(0).ended, true);
  });
});
