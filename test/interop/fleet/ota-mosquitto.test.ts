/**
 * Application updates over the real wire (docs/mqtt/ota.md): Debian's mosquitto carries the signed
 * `ota/job` (retained) and the device's retained `ota/state` and `events/ota`; the bundle comes
 * from a local HTTPS server whose certificate chains to a test CA given as ota.caFile's PEM. The
 * device side is the FleetReporter on a temp store with OtaService and the real HTTPS downloader;
 * the restart is a new reporter and service on the same state directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { localPki, type LocalPki } from '../../../controller/app/local-pki';
import { OtaService } from '../../../controller/fleet/ota/ota-service';
import { pushOtaJob } from '../../../controller/fleet-client/ota-push';
import { DirSlotStore } from '../../../controller/fleet/ota/slot-store';
import { createFleetHarness, newDeviceId, type FleetHarness } from '../../lib/fleet-harness';
import { FleetSubscriber, type Received } from '../../lib/fleet-subscriber';
import { fleetKeys, makeBundle, makeJob } from '../../lib/fleet-ota';
import { type Mosquitto, mosquittoOrSkip, startMosquitto } from '../../lib/mosquitto';

describe('fleet ota with Debian mosquitto and an HTTPS artifact server', function () {
  this.timeout(60_000);
  const key = fleetKeys();
  let broker: Mosquitto | undefined;
  let pki: LocalPki;
  let server: Server | undefined;
  let base = '';
  const artifacts = new Map<string, Buffer>();
  let pkiDir = '';

  before(async function () {
    mosquittoOrSkip(this);
    broker = await startMosquitto();
    pkiDir = mkdtempSync(join(tmpdir(), 'tw-ota-pki-'));
    pki = localPki(pkiDir);
    server = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
      const body = artifacts.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const addr = server.address();
    assert.ok(addr && typeof addr === 'object');
    base = `https://127.0.0.1:${addr.port}`;
  });
  after(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await broker?.dispose();
    if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
  });

  interface Device {
    h: FleetHarness;
    ota: OtaService;
    restarts: string[];
  }

  function device(url: string, deviceId: string, stateDir: string, version: string, ca: string | undefined): Device {
    const h = createFleetHarness(url, {}, {}, deviceId, stateDir);
    const restarts: string[] = [];
    const ota = new OtaService({
      enabled: true,
      slots: new DirSlotStore(join(stateDir, 'ota')),
      jobs: h.store.otaJobs,
      transaction: (fn) => h.store.transaction(fn),
      appendEvent: (type, data) => {
        h.store.outbox.append('events/ota', data, type);
      },
      publishState: (b) => {
        h.reporter.setOtaState(b);
        h.reporter.kick();
      },
      fleetKey: key.publicKey,
      runningVersion: version,
      maxBundleBytes: 16 * 1024 * 1024,
      health: () => (h.reporter.connected ? { ok: true } : { ok: false, why: 'MQTT not connected' }),
      restart: (reason) => restarts.push(reason),
      ...(ca ? { caPem: ca } : {}),
      pollMs: 50,
      downloadIdleTimeoutMs: 5000,
      clock: systemClock,
      log: nullLogger,
    });
    ota.start();
    h.reporter.attachOtaJob((p) => ota.onJobPayload(p));
    h.reporter.start();
    return { h, ota, restarts };
  }

  const states = (msgs: Received[], root: string): string[] => msgs.filter((m) => m.topic === `${root}/ota/state`).map((m) => String(m.json?.['state']));

  it('signed job → download over HTTPS → verify → install → restart → health gate → succeeded, all visible on the broker', async () => {
    assert.ok(broker);
    const dir = mkdtempSync(join(tmpdir(), 'tw-ota-dev-'));
    const deviceId = newDeviceId();
    const root = `tonewall/v1/${deviceId}`;
    const fleet = await FleetSubscriber.connect(broker.url, [`${root}/ota/state`, `${root}/events/ota`]);
    let dev: Device | undefined;
    try {
      dev = device(broker.url, deviceId, dir, '1.0.0', pki.ca);
      const bundle = makeBundle(key.privateKey, '2.0.0', dir);
      artifacts.set('/b/2.0.0.bundle', bundle);
      await fleet.client.publishAsync(`${root}/ota/job`, makeJob(key.privateKey, 'job-mq-1', '2.0.0', bundle, `${base}/b/2.0.0.bundle`), { qos: 1, retain: true });
      await fleet.waitFor('ota/state rebooting', (m) => states(m, root).find((s) => s === 'rebooting' || s === 'failed'));
      assert.deepEqual(states(fleet.messages, root).filter((s, i, a) => a[i - 1] !== s), ['queued', 'downloading', 'verifying', 'installing', 'rebooting'], 'no drain side attached: straight to installing');
      assert.equal(dev.restarts.length, 1);
      await dev.h.dispose();

      // The process restarts on the new slot: same state dir, same device, version 2.0.0.
      dev = device(broker.url, deviceId, dir, '2.0.0', pki.ca);
      const done = await fleet.waitFor('ota/state succeeded', (m) => m.find((x) => x.topic === `${root}/ota/state` && ['succeeded', 'rolled_back'].includes(String(x.json?.['state']))));
      assert.equal(done.json?.['state'], 'succeeded');
      assert.equal(done.json?.['to'], '2.0.0');
      assert.equal(done.json?.['slot'], 'a');
      const ev = await fleet.waitFor('events/ota ota.succeeded', (m) => (m.some((x) => x.json?.['type'] === 'ota.succeeded') ? m.filter((x) => x.topic === `${root}/events/ota`) : undefined));
      const byId = new Map(ev.map((x) => [String(x.json?.['id']), String(x.json?.['type'])]));
      assert.deepEqual([...byId.values()], ['ota.queued', 'ota.downloading', 'ota.verifying', 'ota.installing', 'ota.rebooting', 'ota.health_gate', 'ota.succeeded'], 'every transition once, in order, after dedupe by id');

      // A consumer arriving later sees the retained state; the retained job was delivered again on
      // the new connection and not run again.
      const late = await FleetSubscriber.connect(broker.url, [`${root}/ota/state`]);
      const retained = await late.waitFor('retained ota/state', (m) => m.find((x) => x.retain));
      assert.equal(retained.json?.['state'], 'succeeded');
      await late.close();
      assert.equal(dev.h.store.otaJobs.get('job-mq-1')?.state, 'succeeded');
      assert.equal(dev.restarts.length, 0);
    } finally {
      await fleet.client.publishAsync(`${root}/ota/job`, '', { qos: 1, retain: true });
      await fleet.close();
      await dev?.h.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an artifact server the CA does not vouch for, and a bundle with a wrong hash, fail the job with the slot untouched', async () => {
    assert.ok(broker);
    const dir = mkdtempSync(join(tmpdir(), 'tw-ota-dev-'));
    const deviceId = newDeviceId();
    const root = `tonewall/v1/${deviceId}`;
    const fleet = await FleetSubscriber.connect(broker.url, [`${root}/ota/state`]);
    // No caPem: the system trust store does not know the test CA.
    const dev = device(broker.url, deviceId, dir, '1.0.0', undefined);
    try {
      const bundle = makeBundle(key.privateKey, '2.0.0', dir);
      artifacts.set('/c/2.0.0.bundle', bundle);
      await fleet.client.publishAsync(`${root}/ota/job`, makeJob(key.privateKey, 'job-mq-tls', '2.0.0', bundle, `${base}/c/2.0.0.bundle`), { qos: 1, retain: true });
      const tls = await fleet.waitFor('failed (TLS)', (m) => m.find((x) => x.json?.['jobId'] === 'job-mq-tls' && x.json['state'] === 'failed'));
      assert.match(String(tls.json?.['error']), /artifact download from 127\.0\.0\.1:\d+\/c\/2\.0\.0\.bundle failed: .*(certificate|issuer)/i);

      const other = makeBundle(key.privateKey, '2.0.0', join(dir, 'x'));
      artifacts.set('/c/swapped.bundle', Buffer.concat([other.subarray(0, other.length - 1), Buffer.from([other[other.length - 1] === 1 ? 2 : 1])]));
      const job = JSON.parse(makeJob(key.privateKey, 'job-mq-hash', '2.0.0', other, `${base}/c/swapped.bundle`).toString()) as Record<string, unknown>;
      await dev.h.dispose();
      const dev2 = device(broker.url, deviceId, dir, '1.0.0', pki.ca);
      try {
        await fleet.client.publishAsync(`${root}/ota/job`, JSON.stringify(job), { qos: 1, retain: true });
        const bad = await fleet.waitFor('failed (hash)', (m) => m.find((x) => x.json?.['jobId'] === 'job-mq-hash' && x.json['state'] === 'failed'));
        assert.match(String(bad.json?.['error']), /artifact sha256 is [0-9a-f]{64}; the job says/);
        assert.equal(new DirSlotStore(join(dir, 'ota')).activeSlot(), 'factory');
        assert.deepEqual(dev2.restarts, []);
      } finally {
        await dev2.h.dispose();
      }
    } finally {
      await fleet.client.publishAsync(`${root}/ota/job`, '', { qos: 1, retain: true });
      await fleet.close();
      await dev.h.dispose().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tonewall fleet ota push (pushOtaJob) signs the job, follows ota/state across the device restart and returns the final state', async () => {
    assert.ok(broker);
    const dir = mkdtempSync(join(tmpdir(), 'tw-ota-dev-'));
    const deviceId = newDeviceId();
    const fleet = await FleetSubscriber.connect(broker.url, ['tonewall/v1/_fleet/none']);
    let dev: Device | undefined = device(broker.url, deviceId, dir, '1.0.0', pki.ca);
    try {
      const bundle = makeBundle(key.privateKey, '3.0.0', dir);
      artifacts.set('/p/3.0.0.bundle', bundle);
      const job = JSON.parse(makeJob(key.privateKey, 'job-cli-1', '3.0.0', bundle, `${base}/p/3.0.0.bundle`).toString()) as Record<string, unknown>;
      delete job['sig'];
      const seen: string[] = [];
      const pushed = pushOtaJob(fleet.client, {
        root: 'tonewall/v1',
        dev: deviceId,
        job,
        sign: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        actor: 'ops:test',
        timeoutMs: 30_000,
        onState: (st) => {
          seen.push(String(st['state']));
        },
      });
      await FleetSubscriber.until('the device restarts into the new slot', () => (dev?.restarts.length ?? 0) > 0);
      await dev.h.dispose();
      dev = device(broker.url, deviceId, dir, '3.0.0', pki.ca);
      const last = await pushed;
      assert.equal(last['state'], 'succeeded');
      assert.deepEqual(seen.filter((x, i, a) => a[i - 1] !== x), ['queued', 'downloading', 'verifying', 'installing', 'rebooting', 'health_gate', 'succeeded']);
    } finally {
      await fleet.client.publishAsync(`tonewall/v1/${deviceId}/ota/job`, '', { qos: 1, retain: true });
      await fleet.close();
      await dev?.h.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
