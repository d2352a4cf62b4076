/**
 * The late-will race (DESIGN.md §6; docs/mqtt/topics.md "Rules for consumers" rule 1) with real
 * Debian mosquitto brokers. A single mosquitto cancels a delayed will when the same client id
 * reconnects, so the race is made the way it happens in a fleet: the appliance fails over from
 * broker A to broker B (a TCP proxy it connects through is cut and pointed at B) while A's delayed
 * will for the dropped connection is still pending; A is bridged into B, where the consumers are.
 * The will (conn 1) then reaches B after the new connection's `online` (conn 2) and overwrites the
 * retained `status`; the device, which follows its own `status`, answers with a fresh `online`
 * (conn 2), so a subscriber joining later reads online from the retained status alone. Consumers
 * following the conn rule show it online throughout; after a clean stop they show it offline.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { connectFleet } from '../../../controller/fleet-client/connect';
import { listFleet } from '../../../controller/fleet-client/fleet-list';
import { PresenceTracker, presenceInput } from '../../../controller/fleet-client/presence';
import { createFleetHarness, newDeviceId } from '../../lib/fleet-harness';
import { FleetSubscriber } from '../../lib/fleet-subscriber';
import { startTcpProxy, type TcpProxy } from '../../lib/fleet-tcp-proxy';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';

const CLI = join(__dirname, '..', '..', '..', 'controller', 'app', 'cli.js');

describe('late will after the new online (broker failover, Debian mosquitto bridge)', function () {
  this.timeout(60_000);
  let edge: Mosquitto | undefined;
  let central: Mosquitto | undefined;
  let proxy: TcpProxy | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    mosquittoOrSkip(this);
    edge = await startMosquitto();
    central = await startMosquitto({ extraConf: ['connection edge-a', `address 127.0.0.1:${edge.port}`, 'topic tonewall/# in 1', 'cleansession true', 'restart_timeout 1'] });
    proxy = await startTcpProxy(edge.port);
  });
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await proxy?.close();
    await central?.dispose();
    await edge?.dispose();
  });

  it('the device republishes online over the late will: a new subscriber reads online with the current conn', async () => {
    assert.ok(edge && central && proxy);
    const dev = newDeviceId();
    const root = `tonewall/v1/${dev}`;
    const consumer = await FleetSubscriber.connect(central.url, [`${root}/status`, `${root}/info`]);
    cleanups.push(() => consumer.close());
    const h = createFleetHarness(proxy.url, {}, { willDelayS: 4, sessionExpiryS: 60 }, dev);
    cleanups.push(() => h.dispose());
    const statusOf = (conn: number, state: string) => (m: FleetSubscriber['messages']) => m.find((x) => x.topic === `${root}/status` && x.json?.['conn'] === conn && x.json['state'] === state);

    h.reporter.start();
    await consumer.waitFor('online conn 1 (through the bridge from broker A)', statusOf(1, 'online'));
    // Failover: the connection to A vanishes without DISCONNECT; the reporter reconnects, to B.
    proxy.retarget(central.port);
    proxy.cutAll();
    await consumer.waitFor('online conn 2 (on broker B)', statusOf(2, 'online'));
    const late = await consumer.waitFor("A's delayed will for conn 1", statusOf(1, 'offline'));
    assert.equal(late.json?.['reason'], 'lwt');

    // The device follows its own status: the late will is answered by a fresh online (conn 2).
    const lateIndex = consumer.messages.indexOf(late);
    await consumer.waitFor('online conn 2 republished after the late will', (m) => m.slice(lateIndex + 1).find((x) => x.topic === `${root}/status` && x.json?.['state'] === 'online' && x.json['conn'] === 2));
    const statuses = consumer.on('/status').map((m) => `${String(m.json?.['state'])}/${String(m.json?.['conn'])}`);
    assert.deepEqual(statuses.slice(0, 4), ['online/1', 'online/2', 'offline/1', 'online/2'], 'the will arrived after the new online and was answered');
    assert.equal(h.reporter.connected, true, 'the device is in fact connected');
    assert.ok(h.reporter.lateWillsHealed >= 1);

    // Live consumer following the rule.
    const tracker = new PresenceTracker();
    for (const m of consumer.messages) {
      const kind = m.topic.endsWith('/status') ? 'status' : 'info';
      const input = presenceInput(kind, m.text);
      if (input) tracker.observe(dev, input);
    }
    assert.deepEqual({ state: tracker.get(dev)?.state, ignoredStale: tracker.get(dev)?.ignoredStale }, { state: 'online', ignoredStale: 1 });

    // A consumer joining now, even one that reads only the retained status, sees online conn 2.
    const newcomer = await FleetSubscriber.connect(central.url, [`${root}/status`, `tonewall/v1/_fleet/cli/late-will`]);
    cleanups.push(() => newcomer.close());
    await newcomer.barrier('tonewall/v1/_fleet/cli/late-will');
    assert.deepEqual(newcomer.on('/status').map((m) => [m.json?.['state'], m.json?.['conn'], m.retain]), [['online', 2, true]], 'retained status is the current online');
    // `fleet list` (library and CLI) shows the device online.
    const client = await connectFleet({ url: central.url });
    cleanups.push(() => client.endAsync());
    const row = (await listFleet(client, 'tonewall/v1')).find((r) => r.dev === dev);
    assert.deepEqual({ state: row?.state, conn: row?.conn }, { state: 'online', conn: 2 });
    const cli = spawnSync(process.execPath, [CLI, 'fleet', 'list', '--json', '--url', central.url], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(cli.status, 0, cli.stderr);
    const cliRow = (JSON.parse(cli.stdout) as { dev: string; state: string }[]).find((r) => r.dev === dev);
    assert.equal(cliRow?.state, 'online');

    // A clean stop of the current connection is not ignored: the device shows offline.
    await h.reporter.stop();
    await consumer.waitFor('offline/shutdown conn 2', statusOf(2, 'offline'));
    const after = (await listFleet(client, 'tonewall/v1')).find((r) => r.dev === dev);
    assert.deepEqual({ state: after?.state, reason: after?.reason }, { state: 'offline', reason: 'shutdown' });
  });
});
