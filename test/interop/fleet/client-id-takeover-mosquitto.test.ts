/**
 * Client-id takeover (docs/mqtt/acl.md "Client ids") against Debian's mosquitto with client
 * certificates. MQTT lets a new CONNECT with a client id in use disconnect the session holding it
 * (MQTT 5 §3.1.4, reason 0x8E "session taken over"), so any holder of a valid device certificate
 * could knock another device off. With the template broker configuration (`use_username_as_clientid`
 * on the device listener, the fleet role on its own listener that trusts only the operations CA) a
 * client with device B's certificate asking for device A's client id gets B's id instead: A stays
 * connected on the same `conn` and keeps answering its commands. The first case shows the attack on
 * a broker without the mitigation, so the check can fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { callRpc, createFleetRpc } from '../../../controller/fleet';
import { createFleetHarness, type FleetHarness } from '../../lib/fleet-harness';
import { ACL_TEMPLATE, aclBrokerConf, makeFleetPki, takeoverSafeBrokerConf, type FleetPki } from '../../lib/fleet-pki';
import { FleetSubscriber } from '../../lib/fleet-subscriber';
import { type Mosquitto, freePort, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';
import { requireOpenssl } from '../../lib/secure-certs';

const A = 'tw-cid-a';
const B = 'tw-cid-b';
const FLEET = 'fleet.ops';
const ROOT = 'tonewall/v1';

describe('client-id takeover between devices (Debian mosquitto, client certificates)', function () {
  this.timeout(60_000);
  let pki: FleetPki | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  before(function () {
    mosquittoOrSkip(this);
    requireOpenssl(this);
    pki = makeFleetPki([A, B, FLEET], [FLEET]);
  });
  after(() => pki?.dispose());
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const tls = (files: { cert: string; key: string } | undefined): { ca: Buffer; cert: Buffer; key: Buffer } => {
    assert.ok(pki && files);
    return { ca: readFileSync(pki.caFile), cert: readFileSync(files.cert), key: readFileSync(files.key) };
  };

  async function broker(extraConf: string[]): Promise<Mosquitto> {
    const b = await startMosquitto({ extraConf });
    cleanups.push(() => b.dispose());
    return b;
  }

  /** Device A: the real FleetReporter with its certificate, answering commands. */
  async function deviceA(url: string): Promise<{ h: FleetHarness; drops: string[] }> {
    assert.ok(pki);
    const files = pki.clients[A];
    assert.ok(files);
    const h = createFleetHarness(url, {}, { tls: { ca: pki.caFile, cert: files.cert, key: files.key } }, A);
    cleanups.push(() => h.dispose());
    createFleetRpc({ reporter: h.reporter, store: h.store, log: nullLogger, clock: systemClock, info: () => ({ site: 'cid' }) });
    const drops: string[] = [];
    h.reporter.on('disconnected', (d) => drops.push(d.reason));
    const up = new Promise<void>((resolve) => h.reporter.once('rpc-subscribed', () => resolve()));
    h.reporter.start();
    await up;
    return { h, drops };
  }

  /** Connects with device B's certificate, asking for device A's client id; resolves on CONNACK. */
  async function imposter(url: string): Promise<FleetSubscriber> {
    assert.ok(pki);
    const s = await FleetSubscriber.connect(url, [`${ROOT}/${B}/rpc/req/#`], { ...tls(pki.clients[B]), clientId: A, reconnectPeriod: 0 });
    cleanups.push(() => s.close());
    return s;
  }

  async function fleetClient(url: string, files: { cert: string; key: string } | undefined): Promise<MqttClient> {
    const s = await FleetSubscriber.connect(url, [`${ROOT}/_fleet/cli/cid`], { ...tls(files), reconnectPeriod: 0 });
    cleanups.push(() => s.close());
    return s.client;
  }

  it('without the mitigation (ACL template alone), B with A\'s client id disconnects A', async () => {
    assert.ok(pki);
    const b = await broker(aclBrokerConf(pki, ACL_TEMPLATE));
    const url = `mqtts://127.0.0.1:${b.port}`;
    const { h, drops } = await deviceA(url);
    await imposter(url);
    await FleetSubscriber.until('device A disconnected by the takeover', () => drops.length > 0);
    await h.reporter.stop();
  });

  it('with use_username_as_clientid on the device listener, A stays connected and keeps receiving its commands', async () => {
    assert.ok(pki);
    const opsPort = await freePort();
    const b = await broker(takeoverSafeBrokerConf(pki, ACL_TEMPLATE, opsPort));
    const url = `mqtts://127.0.0.1:${b.port}`;
    const opsUrl = `mqtts://127.0.0.1:${opsPort}`;
    const { h, drops } = await deviceA(url);
    const connBefore = h.reporter.conn;
    const fleet = await fleetClient(opsUrl, pki.opsClients[FLEET]);
    const before = await callRpc(fleet, { root: ROOT, dev: A, method: 'ping', requester: 'ops', timeoutMs: 10_000 });
    assert.equal(before.status, 'ok');

    const imp = await imposter(url);
    // The imposter's session is B's own (its CN): it reads B's commands, not A's.
    await fleet.publishAsync(`${ROOT}/${B}/rpc/req/marker`, 'marker-b', { qos: 1 });
    await imp.waitFor("B's marker on the imposter's session", (m) => m.find((x) => x.text === 'marker-b'));
    // A device certificate is refused on the fleet listener (it trusts the operations CA only).
    await assert.rejects(FleetSubscriber.connect(opsUrl, [`${ROOT}/${A}/rpc/req/#`], { ...tls(pki.clients[B]), clientId: A, reconnectPeriod: 0, connectTimeout: 5000 }));

    // A is still the same session and still answers its commands.
    const after = await callRpc(fleet, { root: ROOT, dev: A, method: 'ping', requester: 'ops', timeoutMs: 10_000 });
    assert.equal(after.status, 'ok', JSON.stringify(after));
    assert.deepEqual({ drops, connected: h.reporter.connected, conn: h.reporter.conn }, { drops: [], connected: true, conn: connBefore });
    assert.match(b.log(), new RegExp(`New client connected from \\S+ as ${B} `), `the broker gave the imposter B's id:\n${b.log().slice(-1500)}`);
    await h.reporter.stop();
  });
});
