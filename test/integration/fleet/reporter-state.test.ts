/**
 * The reporter's newer state and inbound topics against a strict fake MQTT client (with SUBSCRIBE)
 * and a manual clock, on a temp SQLite store: the schema check on the single publish path, retained
 * health / spans / ports / sip / config/reported (republished on connect, clears sent after an
 * outage), metrics (QoS 0 with expiry), `_fleet/rebirth` with jitter, `config/desired` routing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { nullLogger } from '../../../hw/base/logger';
import { configSchema } from '../../../controller/config/schema';
import { FleetReporter } from '../../../controller/fleet/reporter';
import type { AlarmBody } from '../../../controller/fleet/topics';
import { Store } from '../../../controller/store/store';
import { FakeMqttClient, flushPromises } from '../../lib/fleet-fake-mqtt';
import { ManualClock } from '../../lib/manual-clock';

/** The fake plus inbound delivery. */
class SubscribingFake extends FakeMqttClient {
  inbound(topic: string, payload: string, retain = false): void {
    const packet = { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false } as unknown as IPublishPacket;
    this.emit('message', topic, Buffer.from(payload), packet);
  }
}

describe('fleet reporter: health, metrics, spans/ports/sip, config, rebirth (fake MQTT client)', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let clients: SubscribingFake[];
  let reporter: FleetReporter;
  const cfg = configSchema.parse({ device: { id: 'tw-unit-0002' }, mqtt: { reconnectMinMs: 100, reconnectMaxMs: 1000 } });
  const root = 'tonewall/v1/tw-unit-0002';
  const client = (i: number): SubscribingFake => {
    const c = clients[i];
    assert.ok(c, `client #${i} was not created`);
    return c;
  };
  const topics = (c: SubscribingFake) => c.published.map((p) => p.topic.slice(root.length + 1));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-fleet-state-'));
    clock = new ManualClock(1_767_000_000_000);
    store = Store.open({ path: join(dir, 'db.sqlite'), log: nullLogger, clock });
    clients = [];
    reporter = new FleetReporter({
      mqtt: cfg.mqtt, device: cfg.device, store, log: nullLogger, clock, random: () => 0.5, info: () => ({ site: 'lon' }),
      connect: (url: string, opts: IClientOptions): MqttClient => {
        const c = new SubscribingFake(url, opts);
        clients.push(c);
        return c.asClient();
      },
    });
  });
  afterEach(async () => {
    const p = reporter.stop();
    clock.advance(10_000);
    await p;
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a payload that does not match its schema: nothing sent, counted', () => {
    reporter.start();
    client(0).connack();
    const before = client(0).published.length;
    const bad = { alarmId: 'a1', severity: 'apocalyptic', source: 'x', raisedAt: 1, text: 't' } as unknown as AlarmBody;
    reporter.setAlarm('a1', bad);
    assert.equal(client(0).published.length, before);
    assert.equal(reporter.metrics.schemaRefused, 1);
    reporter.setSpanState(1, { span: 1, state: 'up', alarms: [] });
    assert.equal(client(0).published.length, before + 1, 'a good payload still goes out');
  });

  it('health, spans, ports, sip and config/reported are retained, republished on reconnect; a clear made offline goes out on connect', async () => {
    reporter.start();
    reporter.setHealth({ overall: 'ok', checks: { cardLink: { status: 'ok', state: 'up' } } });
    reporter.setSpanState(1, { span: 1, kind: 'E1', state: 'alarm', alarms: ['LOS'], dchannel: 'down' });
    reporter.setPortState(2, { port: 2, kind: 'fxo', state: 'idle' });
    reporter.setSipTrunkState('main', { trunk: 'main', registration: 'registered', reachable: true });
    reporter.setConfigReported({ version: 2, state: 'applied', errors: [], appliedAt: clock.now() });
    client(0).connack();
    assert.deepEqual(topics(client(0)).slice(0, 7), ['status', 'info', 'health', 'spans/1', 'ports/2', 'sip/main', 'config/reported']);
    for (const p of client(0).published.slice(2, 7)) assert.deepEqual([p.opts.qos, p.opts.retain], [1, true]);
    client(0).pubackAll();
    await flushPromises();
    client(0).drop();
    reporter.setPortState(2, null);
    clock.advance(1000); // the jittered reconnect delay is below reconnectMaxMs
    client(1).connack();
    const again = topics(client(1));
    assert.ok(again.includes('health') && again.includes('spans/1') && again.includes('sip/main'));
    const clear = client(1).published.find((p) => p.topic === `${root}/ports/2`);
    assert.deepEqual([clear?.payload, clear?.opts.retain], ['', true], 'the clear made offline');
    assert.throws(() => reporter.setSpanState(3, { span: 4, state: 'up', alarms: [] }), /span state for 3 carries span 4/);
  });

  it('metrics: QoS 0, not retained, message expiry as given; dropped (false) while offline', () => {
    reporter.start();
    assert.equal(reporter.publishMetrics({ intervalS: 60, counters: {}, gauges: {} }, 120), false);
    client(0).connack();
    assert.equal(reporter.publishMetrics({ intervalS: 60, counters: { 'calls.total': 1 }, gauges: {} }, 120), true);
    const m = client(0).published.find((p) => p.topic === `${root}/metrics`);
    assert.deepEqual([m?.opts.qos, m?.opts.retain, m?.opts.properties?.messageExpiryInterval], [0, false, 120]);
  });

  it('_fleet/rebirth: subscribed on connect; republishes everything after the jitter, once for a burst of requests', () => {
    reporter.enableRebirth(10_000);
    reporter.start();
    reporter.setHealth({ overall: 'ok', checks: {} });
    client(0).connack();
    assert.ok(client(0).subscriptions.includes('tonewall/v1/_fleet/rebirth'));
    let reborn = 0;
    reporter.on('reborn', () => reborn++);
    const before = client(0).published.length;
    client(0).inbound('tonewall/v1/_fleet/rebirth', '{}', true);
    clock.advance(10_000);
    assert.equal(client(0).published.length, before, 'a retained rebirth request is ignored');
    client(0).inbound('tonewall/v1/_fleet/rebirth', '{}');
    client(0).inbound('tonewall/v1/_fleet/rebirth', '{}');
    clock.advance(4_999);
    assert.equal(client(0).published.length, before, 'nothing before the jitter (random 0.5 of 10 s)');
    clock.advance(1);
    assert.deepEqual(topics(client(0)).slice(before), ['status']);
    client(0).pubackAll();
    return flushPromises()
      .then(flushPromises)
      .then(() => {
        client(0).pubackAll();
        return flushPromises();
      })
      .then(() => {
        client(0).pubackAll();
        return flushPromises();
      })
      .then(() => {
        assert.deepEqual(topics(client(0)).slice(before), ['status', 'info', 'health']);
        assert.equal(reborn, 1);
      });
  });

  it('config/desired: subscribed on connect, each non-empty payload handed over, a cleared one not', () => {
    const got: string[] = [];
    reporter.attachConfigDesired((p) => got.push(p.toString()));
    reporter.start();
    client(0).connack();
    assert.ok(client(0).subscriptions.includes(`${root}/config/desired`));
    client(0).inbound(`${root}/config/desired`, '{"version":1,"config":{}}');
    client(0).inbound(`${root}/config/desired`, '');
    client(0).inbound(`${root}/config/desiredX`, '{}');
    assert.deepEqual(got, ['{"version":1,"config":{}}']);
  });
});
