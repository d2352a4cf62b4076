/**
 * Application updates end to end below MQTT (controller/fleet/ota; docs/mqtt/ota.md): a real SQLite
 * store, real slot directories, real bundles (ustar + Ed25519 manifest), the real boot check shell
 * script. Artifacts come from memory through the Downloader interface (the HTTPS downloader is
 * covered by test/interop/fleet/ota-mosquitto.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TonewallError } from '../../../hw/base/errors';
import { BLOCK, UstarReader, encodeHeader, type UstarEntry } from '../../../controller/fleet/ota/ustar';
import { buildBundle, installPayload, ustarArchive, verifyBundle } from '../../../controller/fleet/ota/bundle';
import { fleetKeys, makeBundle, makeJob, otaHarness, writeTree, type OtaHarness } from '../../lib/fleet-ota';

const REPO = resolve(__dirname, '../../../..');
const BOOT_CHECK = join(REPO, 'scripts/ota-boot-check.sh');
const URL_A = 'https://updates.test/tonewall-2.0.0.bundle';

function readAll(archive: Buffer): { entries: UstarEntry[]; data: Map<string, Buffer> } {
  const entries: UstarEntry[] = [];
  const data = new Map<string, Buffer>();
  const r = new UstarReader({ onEntry: (e) => entries.push(e), onData: (e, c) => data.set(e.path, Buffer.concat([data.get(e.path) ?? Buffer.alloc(0), c])), onEntryEnd: () => undefined });
  // Feed in odd-sized chunks: the reader must not care where chunks split.
  for (let i = 0; i < archive.length; i += 333) r.push(archive.subarray(i, i + 333));
  r.finish();
  return { entries, data };
}

describe('fleet ota: ustar bundles', () => {
  const key = fleetKeys();
  let work: OtaHarness;
  beforeEach(() => {
    work = otaHarness(key.publicKey, new Map());
  });
  afterEach(() => work.dispose());

  it('round-trips files and directories, long paths included, whatever the chunking', () => {
    const long = `dist/${'x'.repeat(90)}/${'y'.repeat(60)}.js`;
    const archive = ustarArchive([{ path: 'dist' }, { path: 'dist/a.js', data: Buffer.from('A') }, { path: long, data: Buffer.alloc(1500, 7), mode: 0o755 }]);
    const { entries, data } = readAll(archive);
    assert.deepEqual(entries.map((e) => [e.path, e.type, e.size]), [['dist', 'dir', 0], ['dist/a.js', 'file', 1], [long, 'file', 1500]]);
    assert.equal(entries[2]?.mode, 0o755);
    assert.deepEqual(data.get(long), Buffer.alloc(1500, 7));
    const gnuTar = spawnSync('tar', ['-tf', '-'], { input: archive });
    if (gnuTar.status === 0) assert.deepEqual(gnuTar.stdout.toString().trim().split('\n'), ['dist/', 'dist/a.js', long], 'GNU tar reads our archives');
  });

  it('refuses members that would escape the slot, links, bad checksums and cut archives', () => {
    const bad = (mutate: (h: Buffer) => void, pattern: RegExp): void => {
      const h = encodeHeader({ path: 'dist/ok.js', type: 'file', mode: 0o644, size: 0 });
      mutate(h);
      const r = new UstarReader({ onEntry: () => undefined, onData: () => undefined, onEntryEnd: () => undefined });
      assert.throws(() => r.push(Buffer.concat([h, Buffer.alloc(1024)])), (e: unknown) => e instanceof TonewallError && e.code === 'EOTA_BUNDLE' && pattern.test(e.message));
    };
    const rename = (name: string) => (h: Buffer): void => {
      h.fill(0, 0, 100);
      h.write(name, 0, 'latin1');
      h.write('        ', 148, 'latin1');
      let sum = 0;
      for (const x of h) sum += x;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    };
    bad(rename('../etc/passwd'), /"\.\." path component/);
    bad(rename('/etc/passwd'), /absolute path/);
    bad((h) => {
      h[156] = '2'.charCodeAt(0);
      rename('dist/link')(h);
    }, /type "2"; only regular files and directories/);
    bad((h) => (h[0] = 0x41), /checksum/);
    bad((h) => h.fill(0, 257, 263), /no ustar magic/);
    const r = new UstarReader({ onEntry: () => undefined, onData: () => undefined, onEntryEnd: () => undefined });
    r.push(Buffer.concat([encodeHeader({ path: 'a', type: 'file', mode: 0o644, size: 700 }), Buffer.alloc(100)]));
    assert.throws(() => r.finish(), /cut short/);
    assert.equal(BLOCK, 512);
  });

  it('verifies a bundle only when the manifest signature, version and payload hash all hold', async () => {
    const bundle = makeBundle(key.privateKey, '2.0.0', work.dir);
    const file = join(work.dir, 'b.bundle');
    writeFileSync(file, bundle);
    const ok = await verifyBundle(file, '2.0.0', key.publicKey, join(work.dir, 'w1'));
    assert.equal(ok.manifest.version, '2.0.0');
    await assert.rejects(verifyBundle(file, '2.0.1', key.publicKey, join(work.dir, 'w2')), /holds version "2\.0\.0"; the job installs "2\.0\.1"/);
    await assert.rejects(verifyBundle(file, '2.0.0', fleetKeys().publicKey, join(work.dir, 'w3')), /manifest signature does not verify/);
    // A manifest changed after signing (a different payload hash) fails the signature.
    const tree = join(work.dir, 'tree-t');
    writeTree(tree, '2.0.0');
    writeFileSync(file, buildBundle({ root: tree, include: ['package.json', 'dist'], version: '2.0.0', privateKey: key.privateKey, tamper: (m) => (m.payload.sha256 = '0'.repeat(64)) }));
    await assert.rejects(verifyBundle(file, '2.0.0', key.publicKey, join(work.dir, 'w4')), /manifest signature does not verify/);
    // A payload swapped under a valid manifest fails the hash.
    const { data } = readAll(bundle);
    const payload = Buffer.from(data.get('payload.tar.gz') ?? Buffer.alloc(0));
    payload[payload.length - 1] = (payload[payload.length - 1] ?? 0) ^ 0xff;
    writeFileSync(file, ustarArchive([{ path: 'manifest.json', data: data.get('manifest.json') }, { path: 'manifest.sig', data: data.get('manifest.sig') }, { path: 'payload.tar.gz', data: payload }]));
    await assert.rejects(verifyBundle(file, '2.0.0', key.publicKey, join(work.dir, 'w5')), /payload sha256 is [0-9a-f]{64}; the manifest says/);
    writeFileSync(file, ustarArchive([{ path: 'manifest.json', data: data.get('manifest.json') }, { path: 'manifest.sig', data: data.get('manifest.sig') }, { path: 'payload.tar.gz', data: data.get('payload.tar.gz') }, { path: 'evil.sh', data: Buffer.from('x') }]));
    await assert.rejects(verifyBundle(file, '2.0.0', key.publicKey, join(work.dir, 'w6')), /member "evil\.sh" is not one of/);
  });
});

describe('fleet ota: a bundle of this controller tree', function () {
  this.timeout(60_000);
  const key = fleetKeys();

  it('installs into a slot that scripts/ota-start.sh starts: the new tree answers `version`, dependencies from the factory tree', async () => {
    const h = otaHarness(key.publicKey, new Map());
    try {
      // The tree as make-ota-bundle packs it, with package.json at a new version.
      const tree = join(h.dir, 'release');
      mkdirSync(join(tree, 'dist'), { recursive: true });
      for (const d of ['controller', 'hw', 'firmware']) symlinkSync(join(REPO, 'dist', d), join(tree, 'dist', d));
      const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(tree, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7' }));
      const file = join(h.dir, 'release.bundle');
      writeFileSync(file, buildBundle({ root: tree, include: ['package.json', 'dist/controller', 'dist/hw', 'dist/firmware'], version: '9.8.7', privateKey: key.privateKey }));
      const v = await verifyBundle(file, '9.8.7', key.publicKey, join(h.dir, 'work'));
      const slot = h.slots.prepare(h.slots.inactiveSlot());
      await installPayload(v.payloadPath, slot, { version: '9.8.7', jobId: 'job-real', factoryDir: REPO });
      const start = (): string => {
        const r = spawnSync('sh', [join(REPO, 'scripts/ota-start.sh'), 'version'], { encoding: 'utf8', env: { ...process.env, TONEWALL_OTA_ROOT: h.root, NODE: process.execPath } });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      assert.doesNotMatch(start(), /9\.8\.7/, 'before the switch the factory tree runs');
      h.slots.switchTo('a');
      assert.match(start(), /9\.8\.7/, 'after the switch the slot runs');
      h.slots.switchTo('factory');
      assert.doesNotMatch(start(), /9\.8\.7/, 'switched back: the factory tree again');
    } finally {
      h.dispose();
    }
  });
});

describe('fleet ota: the update service', function () {
  this.timeout(30_000);
  const key = fleetKeys();
  let h: OtaHarness | undefined;
  afterEach(() => {
    h?.dispose();
    h = undefined;
  });

  async function installed(files: Map<string, Buffer>): Promise<OtaHarness> {
    const hh = otaHarness(key.publicKey, files);
    h = hh;
    const bundle = makeBundle(key.privateKey, '2.0.0', hh.dir);
    files.set(URL_A, bundle);
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-1', '2.0.0', bundle, URL_A));
    await hh.waitFor((s) => s.state === 'rebooting' || s.state === 'failed', 'rebooting');
    return hh;
  }

  it('runs a signed job: download, verify, drain, install into the inactive slot, switch, restart; then the health gate commits', async () => {
    const hh = await installed(new Map());
    assert.deepEqual(hh.states.map((s) => s.state).filter((s, i, a) => a[i - 1] !== s), ['queued', 'downloading', 'verifying', 'draining', 'installing', 'rebooting']);
    assert.equal(hh.restarts.length, 1);
    assert.match(hh.restarts[0] ?? '', /update job-1 to 2\.0\.0 \(slot a\)/);
    assert.deepEqual(hh.drainCalls, [true], 'drained before the install and left drained into the restart');
    assert.equal(readlinkSync(join(hh.root, 'current')), 'slots/a');
    assert.equal(JSON.parse(readFileSync(join(hh.root, 'slots/a/package.json'), 'utf8')).version, '2.0.0');
    assert.equal(hh.slots.pending()?.toSlot, 'a');
    assert.equal(hh.slots.pending()?.fromSlot, 'factory');
    assert.equal(existsSync(join(hh.root, 'downloads', 'job-1.bundle')), false, 'the download is removed');

    hh.restart('2.0.0');
    const done = await hh.waitFor((s) => s.state === 'succeeded' || s.state === 'rolled_back', 'succeeded');
    assert.equal(done.state, 'succeeded');
    assert.deepEqual({ from: done.from, to: done.to, slot: done.slot, progress: done.progress }, { from: '1.0.0', to: '2.0.0', slot: 'a', progress: 100 });
    assert.equal(hh.slots.pending(), undefined, 'committed: no pending record');
    assert.equal(hh.slots.activeSlot(), 'a');
    assert.deepEqual(hh.events(), ['ota.queued', 'ota.downloading', 'ota.verifying', 'ota.draining', 'ota.installing', 'ota.rebooting', 'ota.health_gate', 'ota.succeeded']);

    // The same job delivered again (retained, on every connect) is not run again.
    const n = hh.states.length;
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-1', '2.0.0', Buffer.from('x'), URL_A));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(hh.states.length, n);
  });

  it('a new version that stays unhealthy through the gate is rolled back to the previous slot and restarted', async () => {
    const hh = await installed(new Map());
    hh.health.value = { ok: false, why: 'card link down' };
    hh.restart('2.0.0');
    const done = await hh.waitFor((s) => s.state === 'rolled_back' || s.state === 'succeeded', 'rolled_back');
    assert.equal(done.state, 'rolled_back');
    assert.match(done.error ?? '', /not healthy for 1 s within 3 s: card link down/);
    assert.equal(hh.slots.activeSlot(), 'factory');
    assert.equal(hh.slots.pending(), undefined);
    assert.equal(hh.restarts.length, 2, 'restarted into the old slot');
  });

  it('the boot check script switches back after 3 failed starts; the old version then reports rolled_back', async () => {
    const hh = await installed(new Map());
    const run = (): string => {
      const r = spawnSync('sh', [BOOT_CHECK, hh.root, '3'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stderr;
    };
    assert.match(run(), /start 1 of 3/);
    assert.match(run(), /start 2 of 3/);
    assert.match(run(), /start 3 of 3/);
    assert.equal(hh.slots.activeSlot(), 'a', 'still on probation after 3 starts');
    assert.match(run(), /slot a failed to start 3 times; switched back to factory/);
    assert.equal(hh.slots.activeSlot(), 'factory');
    assert.equal(hh.slots.pending()?.result, 'crash-loop');
    assert.equal(run(), '', 'a decided record is left alone');
    hh.restart('1.0.0');
    const done = await hh.waitFor((s) => s.state === 'rolled_back', 'rolled_back');
    assert.match(done.error ?? '', /version 2\.0\.0 did not start 3 times; the boot check switched back to slot factory/);
    assert.equal(hh.slots.pending(), undefined);
  });

  it('a bad artifact hash fails the job and touches no slot', async () => {
    const files = new Map<string, Buffer>();
    const hh = otaHarness(key.publicKey, files);
    h = hh;
    const bundle = makeBundle(key.privateKey, '2.0.0', hh.dir);
    const job = JSON.parse(makeJob(key.privateKey, 'job-h', '2.0.0', bundle, URL_A).toString()) as Record<string, unknown>;
    files.set(URL_A, Buffer.concat([bundle.subarray(0, bundle.length - 1), Buffer.from([1])]));
    hh.service.onJobPayload(Buffer.from(JSON.stringify(job)));
    const s = await hh.waitFor((x) => x.state === 'failed', 'failed');
    assert.match(s.error ?? '', /artifact sha256 is [0-9a-f]{64}; the job says [0-9a-f]{64}/);
    assert.equal(existsSync(join(hh.root, 'slots/a')), false);
    assert.equal(hh.slots.activeSlot(), 'factory');
    assert.deepEqual(hh.restarts, []);
  });

  it('a bundle not signed by the fleet key fails in verifying; an unsigned job is rejected', async () => {
    const files = new Map<string, Buffer>();
    const hh = otaHarness(key.publicKey, files);
    h = hh;
    const rogue = makeBundle(fleetKeys().privateKey, '2.0.0', hh.dir);
    files.set(URL_A, rogue);
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-r', '2.0.0', rogue, URL_A));
    const s = await hh.waitFor((x) => x.jobId === 'job-r' && x.state === 'failed', 'failed');
    assert.match(s.error ?? '', /manifest signature does not verify/);
    const unsigned = JSON.parse(makeJob(key.privateKey, 'job-u', '2.0.0', rogue, URL_A).toString()) as Record<string, unknown>;
    delete unsigned['sig'];
    hh.service.onJobPayload(Buffer.from(JSON.stringify(unsigned)));
    const r = await hh.waitFor((x) => x.jobId === 'job-u', 'rejected');
    assert.equal(r.state, 'rejected');
    assert.match(r.error ?? '', /no signature/);
    assert.equal(existsSync(join(hh.root, 'slots/a')), false);
  });

  it('a drain that times out fails the job, undrains, installs nothing', async () => {
    const files = new Map<string, Buffer>();
    const hh = otaHarness(key.publicKey, files);
    h = hh;
    hh.calls.n = 2;
    const bundle = makeBundle(key.privateKey, '2.0.0', hh.dir);
    files.set(URL_A, bundle);
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-d', '2.0.0', bundle, URL_A, { policy: { requireDrain: true, drainTimeoutSec: 1, healthGateSec: 1 } }));
    const s = await hh.waitFor((x) => x.state === 'failed', 'failed');
    assert.match(s.error ?? '', /drain timed out after 1 s with 2 call\(s\) still active; nothing was installed/);
    assert.deepEqual(hh.drainCalls, [true, false]);
    assert.equal(existsSync(join(hh.root, 'slots/a')), false);
  });

  it('waits for the window; an empty ota/job cancels; a closed window fails; the running version succeeds at once', async () => {
    const files = new Map<string, Buffer>();
    const hh = otaHarness(key.publicKey, files);
    h = hh;
    const bundle = makeBundle(key.privateKey, '2.0.0', hh.dir);
    files.set(URL_A, bundle);
    const later = new Date(Date.now() + 3600_000).toISOString();
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-w', '2.0.0', bundle, URL_A, { window: { notBefore: later } }));
    await hh.waitFor((x) => x.state === 'waiting_window', 'waiting_window');
    hh.service.onJobPayload(Buffer.alloc(0));
    const c = await hh.waitFor((x) => x.state === 'canceled', 'canceled');
    assert.match(c.error ?? '', /withdrawn/);
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-late', '2.0.0', bundle, URL_A, { window: { notAfter: new Date(Date.now() - 1000).toISOString() } }));
    const f = await hh.waitFor((x) => x.jobId === 'job-late' && x.state === 'failed', 'failed');
    assert.match(f.error ?? '', /window closed at/);
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-same', '1.0.0', bundle, URL_A));
    const same = await hh.waitFor((x) => x.jobId === 'job-same', 'succeeded');
    assert.equal(same.state, 'succeeded');
    assert.equal(hh.restarts.length, 0);
  });

  it('a restart mid-download resumes the job from queued; a restart mid-install fails it cleanly', async () => {
    const files = new Map<string, Buffer>();
    const hh = otaHarness(key.publicKey, files, '1.0.0', { download: async (o) => new Promise((_r, reject) => o.signal?.addEventListener('abort', () => reject(new Error('aborted')))) });
    h = hh;
    const bundle = makeBundle(key.privateKey, '2.0.0', hh.dir);
    files.set(URL_A, bundle);
    hh.service.onJobPayload(makeJob(key.privateKey, 'job-x', '2.0.0', bundle, URL_A));
    await hh.waitFor((x) => x.state === 'downloading', 'downloading');
    hh.restart('1.0.0');
    // The restarted service downloads from memory again (the default of the harness).
    const done = await hh.waitFor((x) => x.jobId === 'job-x' && x.state === 'rebooting', 'rebooting after the resume');
    assert.equal(done.slot, 'a');
    assert.equal(hh.store.otaJobs.get('job-x')?.resumes, 1);
    assert.deepEqual(hh.events(), ['ota.queued', 'ota.downloading', 'ota.queued', 'ota.downloading', 'ota.verifying', 'ota.draining', 'ota.installing', 'ota.rebooting'], 'the stopped run wrote nothing after the restart');

    // A job recorded as installing when the process died: failed, nothing switched.
    hh.store.otaJobs.insert({ jobId: 'job-i', state: 'installing', progress: 0, from: '1.0.0', to: '3.0.0', slot: 'b', job: '{}', canonical: '' });
    hh.slots.clearPending();
    hh.restart('2.0.0');
    const f = await hh.waitFor((x) => x.jobId === 'job-i' && x.state === 'failed', 'failed');
    assert.match(f.error ?? '', /interrupted by a restart while installing/);
  });
});
