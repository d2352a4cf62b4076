/**
 * Commands over MQTT 5 request/response against Debian's mosquitto: a real FleetReporter on a temp
 * SQLite store with createFleetRpc; the fleet side is callRpc on a second client. Covers the ping
 * round trip with correlation data, duplicates answered once, expiry, bad payloads, replies never
 * sent outside the device's rpc/res/, signed dangerous commands, and the audit rows.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { callRpc, createFleetRpc, type CallRpcOptions, type RpcServer } from '../../../controller/fleet/rpc';
import { createFleetHarness, type FleetHarness } from '../../lib/fleet-harness';
import { FleetSubscriber } from '../../lib/fleet-subscriber';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';

describe('fleet rpc with Debian mosquitto (MQTT 5)', function () {
  this.timeout(60_000);
  let broker: Mosquitto | undefined;
  let h: FleetHarness | undefined;
  let rpc: RpcServer | undefined;
  let fleet: FleetSubscriber | undefined;
  let runs = 0;
  const fleetKey = generateKeyPairSync('ed25519');

  before(async function () {
    mosquittoOrSkip(this);
    broker = await startMosquitto();
  });
  after(async () => {
    await broker?.dispose();
  });

  beforeEach(async () => {
    assert.ok(broker);
    const harness = createFleetHarness(broker.url);
    h = harness;
    runs = 0;
    rpc = createFleetRpc({
      reporter: harness.reporter,
      store: harness.store,
      log: nullLogger,
      clock: systemClock,
      info: () => ({ site: 'test-site' }),
      fleetKeyPem: fleetKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    rpc.register('test.count', {
      schema: z.object({}).strict(),
      handler: () => Promise.resolve({ status: 'ok', data: { runs: ++runs } }),
    });
    rpc.register('reboot', { schema: z.object({}).strict(), dangerous: true, handler: () => Promise.resolve({ status: 'accepted' }) });
    const subscribed = new Promise<void>((resolve) => harness.reporter.once('rpc-subscribed', () => resolve()));
    harness.reporter.start();
    await subscribed;
    fleet = await FleetSubscriber.connect(broker.url, [`${harness.root}/rpc/res/#`, 'tonewall/v1/+/rpc/res/#']);
  });
  afterEach(async () => {
    await fleet?.close();
    await h?.dispose();
  });

  function call(method: string, extra: Partial<CallRpcOptions> = {}) {
    assert.ok(h && fleet);
    return callRpc(fleet.client, { root: 'tonewall/v1', dev: h.deviceId, method, requester: 'ops-test', timeoutMs: 15_000, actor: 'ops:alice', ...extra });
  }

  it('ping round trip: reply on the response topic with the same correlation data, envelope, message expiry, audited', async () => {
    assert.ok(h && fleet);
    const reply = await call('ping', { reqId: 'ping-1' });
    assert.equal(reply.status, 'ok');
    assert.equal(reply.reqId, 'ping-1');
    assert.equal(reply.dev, h.deviceId);
    assert.equal(reply.data?.['pong'], true);
    assert.equal(typeof reply.data?.['ts'], 'number');
    const wire = fleet.messages.find((m) => m.json?.['reqId'] === 'ping-1');
    assert.ok(wire);
    assert.equal(wire.topic, `${h.root}/rpc/res/ops-test`);
    assert.equal(wire.retain, false);
    assert.ok(wire.packet.properties?.correlationData, 'correlation data echoed');
    assert.ok((wire.packet.properties?.messageExpiryInterval ?? 0) > 0, 'reply carries a message expiry');
    assert.deepEqual({ ...wire.packet.properties?.userProperties }, { schema: 'rpc-reply@1' });
    const audit = h.store.audit.recent(10);
    assert.deepEqual(audit.map((a) => [a.source, a.action, a.actor, a.result]), [['mqtt', 'ping', 'ops:alice', 'ok']]);
  });

  it('a duplicate reqId is answered with the same reply and executed once', async () => {
    assert.ok(h);
    const first = await call('test.count', { reqId: 'dup-1' });
    const second = await call('test.count', { reqId: 'dup-1' });
    assert.deepEqual(first.data, { runs: 1 });
    assert.deepEqual(second.data, { runs: 1 });
    assert.equal(runs, 1);
    assert.notEqual(second.seq, first.seq, 'a second message, not a redelivery');
    assert.deepEqual(h.store.audit.recent(10).map((a) => a.result).reverse(), ['ok', 'duplicate']);
  });

  it('an expired request is refused with code expired and not executed', async () => {
    assert.ok(h);
    const reply = await call('test.count', { exp: Date.now() - 5000 });
    assert.equal(reply.status, 'error');
    assert.equal(reply.error?.code, 'expired');
    assert.equal(runs, 0);
    assert.deepEqual(h.store.audit.recent(1).map((a) => [a.action, a.result, a.detail]), [['test.count', 'error', 'expired']]);
  });

  it('a bad payload gets a clear bad_request reply; a reply topic outside its own rpc/res/ gets nothing', async () => {
    assert.ok(h && fleet);
    const rt = `${h.root}/rpc/res/ops-raw`;
    await fleet.client.publishAsync(`${h.root}/rpc/req/ping`, '{"reqId": 12', { qos: 1, properties: { responseTopic: rt, correlationData: Buffer.from('raw-1') } });
    const bad = await fleet.waitFor('bad_request reply', (m) => m.find((x) => x.topic === rt));
    assert.equal(bad.json?.['status'], 'error');
    assert.deepEqual(bad.packet.properties?.correlationData, Buffer.from('raw-1'));
    const err = bad.json?.['error'] as { code: string; message: string };
    assert.equal(err.code, 'bad_request');
    assert.match(err.message, /not JSON/);
    // Schema error names the field.
    const unknownKey = await call('ping', { params: { x: 1 } });
    assert.equal(unknownKey.error?.code, 'bad_params');
    assert.match(unknownKey.error?.message ?? '', /Unrecognized key.*x/);
    // A reply topic under another device: dropped; the next request's reply proves the order.
    const foreign = `tonewall/v1/other-device/rpc/res/ops-test`;
    await fleet.client.publishAsync(`${h.root}/rpc/req/ping`, JSON.stringify({ reqId: randomUUID() }), { qos: 1, properties: { responseTopic: foreign, correlationData: Buffer.from('f') } });
    await call('ping', { reqId: 'after-foreign' });
    assert.equal(fleet.messages.filter((m) => m.topic === foreign).length, 0);
    assert.ok(h.store.audit.recent(10).some((a) => a.result === 'dropped' && a.action === 'ping'));
    assert.equal(rpc?.counters.dropped, 1);
  });

  it('a dangerous command runs only with the fleet signature', async () => {
    const unsigned = await call('reboot', { reqId: 'rb-unsigned' });
    const signed = await call('reboot', { reqId: 'rb-signed', sign: fleetKey.privateKey });
    assert.equal(unsigned.error?.code, 'signature_required');
    assert.equal(signed.status, 'accepted');
  });

  it('get_info and rebirth: the birth record, and status/info republished', async () => {
    assert.ok(h && fleet);
    const status = await FleetSubscriber.connect(broker?.url ?? '', [`${h.root}/status`]);
    try {
      const retained = await status.waitFor('retained status', (m) => m.find((x) => x.json?.['state'] === 'online'));
      const info = await call('get_info');
      assert.deepEqual(info.data, { site: 'test-site' });
      const reborn = await call('rebirth');
      assert.equal(reborn.status, 'ok');
      const again = await status.waitFor('republished status', (m) => m.find((x) => Number(x.json?.['seq']) > Number(retained.json?.['seq'])));
      assert.equal(again.json?.['state'], 'online');
    } finally {
      await status.close();
    }
  });
});

describe('fleet rpc across a broker restart that loses the session (mosquitto, no persistence)', function () {
  this.timeout(60_000);
  let broker: Mosquitto | undefined;
  let h: FleetHarness | undefined;
  let fleet: FleetSubscriber | undefined;

  before(async function () {
    mosquittoOrSkip(this);
    broker = await startMosquitto({ persistence: false });
  });
  after(async () => {
    await fleet?.close();
    await h?.dispose();
    await broker?.dispose();
  });

  it('subscribes again on the new session (sessionPresent false) and answers', async () => {
    assert.ok(broker);
    const harness = createFleetHarness(broker.url);
    h = harness;
    createFleetRpc({ reporter: harness.reporter, store: harness.store, log: nullLogger, clock: systemClock, info: () => ({}) });
    const sessions: { conn: number; sessionPresent: boolean }[] = [];
    harness.reporter.on('connected', (c) => sessions.push(c));
    const first = new Promise<void>((resolve) => harness.reporter.once('rpc-subscribed', () => resolve()));
    harness.reporter.start();
    await first;
    const second = new Promise<number>((resolve) => harness.reporter.once('rpc-subscribed', ({ conn }) => resolve(conn)));
    await broker.restart();
    const conn = await second;
    assert.equal(conn, 2);
    assert.deepEqual(sessions.map((s) => s.sessionPresent), [false, false], 'the restarted broker had no session');
    fleet = await FleetSubscriber.connect(broker.url, [`${harness.root}/rpc/res/#`]);
    const reply = await callRpc(fleet.client, { root: 'tonewall/v1', dev: harness.deviceId, method: 'ping', requester: 'ops-test', timeoutMs: 15_000 });
    assert.equal(reply.status, 'ok');
    assert.equal(reply.conn, 2);
  });
});
