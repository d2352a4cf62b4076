/**
 * Test helpers for application updates (controller/fleet/ota): a controller tree to bundle, signed
 * bundles and jobs, a file-backed Downloader (the HTTPS one is exercised by the mosquitto test),
 * and a harness that runs OtaService on a temp SQLite store and slot directory and can "restart"
 * (a new service on the same store and slots, as after the process exit).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../hw/base/clock';
import { TonewallError } from '../../hw/base/errors';
import { nullLogger } from '../../hw/base/logger';
import { buildBundle } from '../../controller/fleet/ota/bundle';
import type { Downloader } from '../../controller/fleet/ota/download';
import { signOtaJob } from '../../controller/fleet/ota/job';
import { OtaService, type OtaHealth, type OtaServiceOptions } from '../../controller/fleet/ota/ota-service';
import { DirSlotStore } from '../../controller/fleet/ota/slot-store';
import type { OtaStateBody } from '../../controller/fleet/payload-schemas';
import { Store } from '../../controller/store/store';

export const fleetKeys = (): { publicKey: KeyObject; privateKey: KeyObject } => generateKeyPairSync('ed25519');

/** A minimal controller tree of `version` (package.json, dist/controller/app/cli.js, a nested file). */
export function writeTree(dir: string, version: string): void {
  mkdirSync(join(dir, 'dist', 'controller', 'app'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'tonewall', version })}\n`);
  writeFileSync(join(dir, 'dist', 'controller', 'app', 'cli.js'), `console.log(${JSON.stringify(version)});\n`);
  writeFileSync(join(dir, 'dist', 'controller', 'app', 'version.js'), `module.exports = ${JSON.stringify(version)};\n`);
}

export function makeBundle(privateKey: KeyObject, version: string, work: string): Buffer {
  const tree = join(work, `tree-${version}`);
  writeTree(tree, version);
  return buildBundle({ root: tree, include: ['package.json', 'dist'], version, privateKey, created: '2026-11-22T00:00:00.000Z' });
}

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A signed job for `bundle` at `url`. */
export function makeJob(privateKey: KeyObject, jobId: string, version: string, bundle: Buffer, url: string, extra: Record<string, unknown> = {}): Buffer {
  const job = { jobId, version, artifact: { url, sha256: sha256Hex(bundle), size: bundle.length }, policy: { requireDrain: true, drainTimeoutSec: 5, healthGateSec: 1, healthGateTimeoutSec: 3 }, actor: 'ops:test', ...extra };
  return Buffer.from(JSON.stringify(signOtaJob(privateKey, job)));
}

/** Serves artifacts from memory by URL, writing the file as the HTTPS downloader does. */
export function memoryDownloader(files: Map<string, Buffer>, opts: { hang?: boolean } = {}): Downloader {
  return async (o) => {
    if (opts.hang) {
      await new Promise<void>((_resolve, reject) => o.signal?.addEventListener('abort', () => reject(new TonewallError('EOTA_DOWNLOAD', 'aborted')), { once: true }));
    }
    const data = files.get(o.url);
    if (!data) throw new TonewallError('EOTA_DOWNLOAD', `artifact download answered HTTP 404; expected 200`);
    if (data.length !== o.size) throw new TonewallError('EOTA_DOWNLOAD', `artifact is ${data.length} bytes; the job says ${o.size}`);
    await new Promise((r) => setImmediate(r));
    writeFileSync(o.file, data);
    o.onProgress?.(100);
    return { bytes: data.length, sha256: sha256Hex(data) };
  };
}

export interface OtaHarness {
  dir: string;
  root: string;
  store: Store;
  slots: DirSlotStore;
  service: OtaService;
  states: OtaStateBody[];
  restarts: string[];
  drainCalls: boolean[];
  /** Active calls the drain sees. */
  calls: { n: number };
  health: { value: OtaHealth };
  /** A new service on the same store and slots (the process restarted), running `version`; the first service's overrides do not carry over. */
  restart(version: string, overrides?: Partial<OtaServiceOptions>): OtaService;
  waitFor(pred: (s: OtaStateBody) => boolean, what: string, limitMs?: number): Promise<OtaStateBody>;
  /** Event types in `events/ota`, in outbox order. */
  events(): string[];
  dispose(): void;
}

export function otaHarness(fleetKey: KeyObject | undefined, files: Map<string, Buffer>, running = '1.0.0', overrides: Partial<OtaServiceOptions> = {}): OtaHarness {
  const dir = mkdtempSync(join(tmpdir(), 'tw-ota-'));
  const root = join(dir, 'ota');
  const store = Store.open({ path: join(dir, 'tonewall.db'), log: nullLogger });
  const slots = new DirSlotStore(root);
  const states: OtaStateBody[] = [];
  const restarts: string[] = [];
  const drainCalls: boolean[] = [];
  const calls = { n: 0 };
  const health: { value: OtaHealth } = { value: { ok: true } };
  const make = (version: string, extra: Partial<OtaServiceOptions>): OtaService =>
    new OtaService({
      enabled: true,
      slots,
      jobs: store.otaJobs,
      transaction: (fn) => store.transaction(fn),
      appendEvent: (type, data) => {
        store.outbox.append('events/ota', data, type);
      },
      publishState: (b) => states.push(b),
      fleetKey,
      runningVersion: version,
      maxBundleBytes: 64 * 1024 * 1024,
      drain: { set: (on) => drainCalls.push(on), activeCalls: () => calls.n },
      health: () => health.value,
      restart: (reason) => restarts.push(reason),
      download: memoryDownloader(files),
      pollMs: 20,
      downloadIdleTimeoutMs: 5000,
      clock: systemClock,
      log: nullLogger,
      ...extra,
    });
  const h: OtaHarness = {
    dir,
    root,
    store,
    slots,
    service: make(running, overrides),
    states,
    restarts,
    drainCalls,
    calls,
    health,
    restart(version, extra = {}) {
      h.service.stop();
      h.service = make(version, extra);
      h.service.start();
      return h.service;
    },
    async waitFor(pred, what, limitMs = 10_000) {
      const t0 = Date.now();
      for (;;) {
        const hit = states.find(pred);
        if (hit) return hit;
        if (Date.now() - t0 > limitMs) throw new Error(`no ota/state ${what} within ${limitMs} ms; seen: ${states.map((s) => `${s.jobId}:${s.state}${s.error ? `(${s.error})` : ''}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    events: () => store.outbox.pending(1000).filter((e) => e.topic === 'events/ota').map((e) => e.type),
    dispose() {
      h.service.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  h.service.start();
  return h;
}
