/**
 * The ACL template (docs/mqtt/mosquitto-acl.conf) with client certificates on Debian's mosquitto
 * (require_certificate, use_identity_as_username): checked by what is delivered, never by SUBACK or
 * PUBACK alone (mosquitto grants a forbidden SUBSCRIBE and acknowledges a refused PUBLISH).
 *
 * "Nothing delivered" is proven with a barrier: after the forbidden traffic, a marker the watcher is
 * allowed to receive is sent along the same path; once the marker arrives, anything sent before it
 * would have arrived too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync as readFile } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { callRpc, createFleetRpc } from '../../../controller/fleet';
import { connectFleet } from '../../../controller/fleet-client/connect';
import { createFleetHarness } from '../../lib/fleet-harness';
import { ACL_TEMPLATE, aclBrokerConf, makeFleetPki, type FleetPki } from '../../lib/fleet-pki';
import { FleetSubscriber, type Received } from '../../lib/fleet-subscriber';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';
import { requireOpenssl } from '../../lib/secure-certs';
import { nullLogger } from '../../../hw/base/logger';
import { systemClock } from '../../../hw/base/clock';

const A = 'tw-acl-a';
const B = 'tw-acl-b';
const FLEET = 'fleet.ops';
const ROOT = 'tonewall/v1';
const CLI = join(__dirname, '..', '..', '..', 'controller', 'app', 'cli.js');

describe('mosquitto ACL template with client certificates (delivery, not SUBACK)', function () {
  this.timeout(60_000);
  let broker: Mosquitto | undefined;
  let pki: FleetPki | undefined;
  let url = '';
  const cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    mosquittoOrSkip(this);
    requireOpenssl(this);
    pki = makeFleetPki([A, B, FLEET]);
    broker = await startMosquitto({ extraConf: aclBrokerConf(pki, ACL_TEMPLATE) });
    url = `mqtts://127.0.0.1:${broker.port}`;
  });
  after(async () => {
    await broker?.dispose();
    pki?.dispose();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function tlsAs(cn: string): { ca: Buffer; cert: Buffer; key: Buffer } {
    assert.ok(pki);
    const files = pki.clients[cn];
    assert.ok(files, cn);
    return { ca: readFile(pki.caFile), cert: readFile(files.cert), key: readFile(files.key) };
  }

  async function as(cn: string, filters: string[], clientId = `${cn}-${Math.random().toString(16).slice(2, 8)}`): Promise<FleetSubscriber> {
    const s = await FleetSubscriber.connect(url, filters.length ? filters : [`${ROOT}/${cn}/rpc/req/none`], { ...tlsAs(cn), clientId, reconnectPeriod: 0 });
    cleanups.push(() => s.close());
    return s;
  }

  const from = (s: FleetSubscriber, prefix: string): Received[] => s.messages.filter((m) => m.topic.startsWith(prefix));

  it("a device receives none of another device's commands, even with a granted wildcard subscription", async () => {
    const b = await as(B, [`${ROOT}/${B}/rpc/req/#`]);
    const a = await as(A, [`${ROOT}/${B}/rpc/req/#`, `${ROOT}/+/rpc/req/#`, `${ROOT}/#`, `${ROOT}/${A}/rpc/req/#`]);
    const fleet = await as(FLEET, []);
    await fleet.client.publishAsync(`${ROOT}/${B}/rpc/req/reboot`, JSON.stringify({ reqId: 'acl-1' }), { qos: 1 });
    await b.waitFor("B's own command", (m) => m.find((x) => x.topic === `${ROOT}/${B}/rpc/req/reboot`));
    await fleet.client.publishAsync(`${ROOT}/${A}/rpc/req/marker`, 'marker', { qos: 1 });
    await a.waitFor("A's own marker command", (m) => m.find((x) => x.text === 'marker'));
    assert.deepEqual(from(a, `${ROOT}/${B}/`).map((m) => m.topic), [], "A received B's traffic");
  });

  it("a device cannot publish under another device's topics: B's watchers see nothing, not even retained", async () => {
    const watcher = await as(FLEET, [`${ROOT}/${B}/#`, `${ROOT}/${A}/events/#`]);
    const a = await as(A, []);
    const refused: (number | undefined)[] = [];
    for (const topic of [`${ROOT}/${B}/status`, `${ROOT}/${B}/events/call`, `${ROOT}/${B}/rpc/res/fleet`, `${ROOT}/${B}/rpc/req/reboot`]) {
      const code = await a.client.publishAsync(topic, JSON.stringify({ state: 'offline', forged: true }), { qos: 1, retain: topic.endsWith('status') }).then(
        (p) => (p as { reasonCode?: number } | undefined)?.reasonCode,
        (err: { code?: number }) => err.code,
      );
      refused.push(code);
    }
    await a.client.publishAsync(`${ROOT}/${A}/events/call`, 'marker', { qos: 1 });
    await watcher.waitFor("A's own event (the marker)", (m) => m.find((x) => x.text === 'marker'));
    assert.deepEqual(from(watcher, `${ROOT}/${B}/`).map((m) => m.topic), [], 'forged messages reached B topics');
    const late = await as(FLEET, [`${ROOT}/${B}/status`, `${ROOT}/_fleet/cli/late`]);
    await late.barrier(`${ROOT}/_fleet/cli/late`);
    assert.equal(late.on(`${B}/status`).length, 0, 'a forged retained status was stored');
    assert.ok(refused.every((c) => c === 135), `PUBACK reason codes ${JSON.stringify(refused)}, expected 135 (not authorized) for each`);
  });

  it("a device reads the fleet's rebirth request and its own config/desired, but cannot publish a rebirth or B's configuration", async () => {
    const b = await as(B, [`${ROOT}/_fleet/rebirth`, `${ROOT}/${B}/config/desired`, `${ROOT}/${B}/rpc/req/#`]);
    const a = await as(A, [`${ROOT}/_fleet/rebirth`, `${ROOT}/${A}/config/desired`, `${ROOT}/${B}/config/desired`]);
    const fleet = await as(FLEET, []);
    await fleet.client.publishAsync(`${ROOT}/_fleet/rebirth`, 'from-fleet', { qos: 1 });
    await fleet.client.publishAsync(`${ROOT}/${B}/config/desired`, JSON.stringify({ version: 1, config: {} }), { qos: 1 });
    await fleet.client.publishAsync(`${ROOT}/${A}/config/desired`, JSON.stringify({ version: 7, config: {} }), { qos: 1 });
    await a.waitFor('the rebirth request and its own desired config', (m) => (m.some((x) => x.text === 'from-fleet') && m.some((x) => x.topic === `${ROOT}/${A}/config/desired`) ? true : undefined));
    await b.waitFor("B's desired config", (m) => m.find((x) => x.topic === `${ROOT}/${B}/config/desired`));
    await a.client.publishAsync(`${ROOT}/_fleet/rebirth`, 'from-a', { qos: 1 }).catch(() => undefined);
    await a.client.publishAsync(`${ROOT}/${B}/config/desired`, JSON.stringify({ version: 99, config: { log: { level: 'trace' } } }), { qos: 1, retain: true }).catch(() => undefined);
    await fleet.client.publishAsync(`${ROOT}/${B}/rpc/req/marker`, 'marker', { qos: 1 });
    await b.waitFor('the marker', (m) => m.find((x) => x.text === 'marker'));
    assert.equal(from(a, `${ROOT}/${B}/`).length, 0, "A read B's configuration");
    assert.equal(b.messages.filter((x) => x.text === 'from-a').length, 0, 'a device published a fleet rebirth');
    assert.deepEqual(b.on('/config/desired').map((x) => x.json?.['version']), [1], "A changed B's desired configuration");
  });

  it('refuses a client without a certificate (anonymous) and one whose certificate another CA signed', async () => {
    assert.ok(pki);
    await assert.rejects(connectFleet({ url, caFile: pki.caFile, connectTimeoutMs: 5000 }), /EFLEET_CONNECT|cannot connect/);
    await assert.rejects(connectFleet({ url, caFile: pki.caFile, certFile: pki.rogueClient.cert, keyFile: pki.rogueClient.key, connectTimeoutMs: 5000 }), /cannot connect/);
    assert.match(broker?.log() ?? '', /certificate/i);
  });

  it("a device using another device's client id still gets none of its commands", async () => {
    const imposter = await as(A, [`${ROOT}/${B}/rpc/req/#`, `${ROOT}/${A}/rpc/req/#`], B);
    const fleet = await as(FLEET, []);
    await fleet.client.publishAsync(`${ROOT}/${B}/rpc/req/reboot`, JSON.stringify({ reqId: 'acl-2' }), { qos: 1 });
    await fleet.client.publishAsync(`${ROOT}/${A}/rpc/req/marker`, 'marker', { qos: 1 });
    await imposter.waitFor('the marker', (m) => m.find((x) => x.text === 'marker'));
    assert.deepEqual(from(imposter, `${ROOT}/${B}/`).map((m) => m.topic), []);
  });

  it('the real FleetReporter works under the ACL with its TLS client certificate: birth, events, a command round trip', async () => {
    assert.ok(pki);
    const files = pki.clients[A];
    assert.ok(files);
    const h = createFleetHarness(url, {}, { tls: { ca: pki.caFile, cert: files.cert, key: files.key } }, A);
    cleanups.push(() => h.dispose());
    createFleetRpc({ reporter: h.reporter, store: h.store, log: nullLogger, clock: systemClock, info: () => ({ site: 'acl' }) });
    const watcher = await as(FLEET, [`${ROOT}/${A}/#`]);
    h.reporter.start();
    await watcher.waitFor('status online', (m) => m.find((x) => x.topic === `${ROOT}/${A}/status` && x.json?.['state'] === 'online'));
    h.store.transaction(() => h.store.outbox.append('events/call', { n: 1 }));
    h.reporter.kick();
    await watcher.waitFor('the event', (m) => m.find((x) => x.topic === `${ROOT}/${A}/events/call`));
    await new Promise<void>((resolve) => (h.reporter.connected ? resolve() : h.reporter.once('connected', () => resolve())));
    const fleet: MqttClient = (await as(FLEET, [])).client;
    const reply = await callRpc(fleet, { root: ROOT, dev: A, method: 'ping', requester: 'ops', timeoutMs: 10_000 });
    assert.equal(reply.status, 'ok', JSON.stringify(reply));
    await FleetSubscriber.until('outbox acked', () => h.store.outbox.depth() === 0);
  });

  it('tonewall fleet list works with the fleet role certificate and exits 1 without one', function () {
    assert.ok(pki);
    const files = pki.clients[FLEET];
    assert.ok(files);
    const tls = ['--url', url, '--cafile', pki.caFile, '--cert', files.cert, '--key', files.key];
    const list = spawnSync(process.execPath, [CLI, 'fleet', 'list', '--json', ...tls], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(list.status, 0, list.stderr);
    assert.ok(Array.isArray(JSON.parse(list.stdout)));
    const none = spawnSync(process.execPath, [CLI, 'fleet', 'list', '--url', url, '--cafile', pki.caFile], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(none.status, 1, 'no certificate: the broker refuses');
    assert.match(none.stderr, /cannot connect/);
  });
});

