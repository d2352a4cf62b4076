/** config/desired → config/reported (DESIGN.md §6): versions, validation with paths, live vs restart, secrets. */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { ConfigError, parseConfig } from '../../../controller/config/load';
import type { Config } from '../../../controller/config/schema';
import { ConfigSync, changedPaths, configWithStoredOverlay, overlayConfig, type ConfigValidator } from '../../../controller/fleet/config-sync';
import type { ConfigReportedBody } from '../../../controller/fleet/topics';
import type { FleetConfigRecord } from '../../../controller/store/fleet-config';
import type { JsonObject } from '../../../controller/store/json';
import { ManualClock } from '../../lib/manual-clock';

const validate: ConfigValidator = (input) => {
  try {
    return { ok: true, config: parseConfig(input, 'config/desired') };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, errors: err.problems };
    throw err;
  }
};

class MemoryFleetConfig {
  rec: FleetConfigRecord = { version: 0, overlay: {}, reported: undefined };
  get(): FleetConfigRecord {
    return this.rec;
  }
  accept(version: number, overlay: JsonObject, reported: JsonObject): void {
    this.rec = { version, overlay, reported };
  }
  report(reported: JsonObject): void {
    this.rec = { ...this.rec, reported };
  }
}

function harness(fileConfig: Config = parseConfig({ mqtt: { password: 'file-secret' } })) {
  const store = new MemoryFleetConfig();
  const reports: ConfigReportedBody[] = [];
  const levels: string[] = [];
  const events: string[] = [];
  const sync = new ConfigSync({
    fileConfig, running: fileConfig, store, validate, clock: new ManualClock(1_767_000_000_000), log: nullLogger,
    record: (type, data) => events.push(`${type}:${JSON.stringify(data)}`),
    live: [{ prefix: 'log.level', apply: (c) => levels.push(c.log.level) }],
    publish: (b) => reports.push(b),
  });
  const send = (v: unknown) => sync.handle(Buffer.from(JSON.stringify(v)));
  return { store, reports, levels, events, sync, send, fileConfig };
}

describe('fleet config/desired → config/reported', () => {
  it('overlay: objects merge, values replace, null deletes; changed paths are leaves', () => {
    assert.deepEqual(overlayConfig({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: 3, c: null }, d: [2] }), { a: { b: 3 }, d: [2] });
    assert.deepEqual(changedPaths({ a: { b: 1, c: 2 } }, { a: { b: 1, c: 3 }, e: 1 }), ['a.c', 'e']);
  });

  it('a live key is applied now and reported applied; the version and overlay are persisted', () => {
    const h = harness();
    const r = h.send({ version: 3, config: { log: { level: 'debug' } } });
    assert.deepEqual([r?.state, r?.version, r?.errors], ['applied', 3, []]);
    assert.deepEqual(h.levels, ['debug']);
    assert.deepEqual([h.store.rec.version, h.store.rec.overlay], [3, { log: { level: 'debug' } }]);
    h.send({ version: 4, config: { sip: { ptimeMs: 30 } }, actor: 'ops:alice' });
    h.send({ version: 5, config: { log: { level: 'loud' } } });
    assert.deepEqual(h.events, ['config.applied:{"version":3}', 'config.pending_restart:{"version":4,"actor":"ops:alice","restartKeys":["sip.ptimeMs"]}', 'config.rejected:{"version":5,"errorCount":1}']);
  });

  it('versions at or below the applied one are ignored', () => {
    const h = harness();
    h.send({ version: 3, config: { log: { level: 'debug' } } });
    assert.equal(h.send({ version: 3, config: { log: { level: 'warn' } } }), undefined);
    assert.equal(h.send({ version: 2, config: { log: { level: 'warn' } } }), undefined);
    assert.deepEqual(h.levels, ['debug']);
    assert.equal(h.reports.length, 1);
  });

  it('a key that is not live waits for a restart: pending_restart with the key paths', () => {
    const h = harness();
    const r = h.send({ version: 1, config: { sip: { ptimeMs: 30 }, log: { level: 'warn' } } });
    assert.equal(r?.state, 'pending_restart');
    assert.deepEqual(r?.restartKeys, ['sip.ptimeMs']);
    assert.deepEqual(h.levels, ['warn'], 'the live part is applied at once');
    assert.equal(h.store.rec.version, 1);
  });

  it('every validation error is reported with its path; nothing is applied or persisted', () => {
    const h = harness();
    const r = h.send({ version: 5, config: { log: { level: 'loud' }, sip: { ptimeMs: 25, bogus: 1 } } });
    assert.equal(r?.state, 'rejected');
    assert.equal(r?.version, 5);
    assert.ok((r?.errors.length ?? 0) >= 3, JSON.stringify(r?.errors));
    for (const p of ['log.level', 'sip.ptimeMs', 'sip.bogus']) assert.ok(r?.errors.some((e) => e.startsWith(`${p}: `)), p);
    assert.deepEqual([h.levels, h.store.rec.version], [[], 0]);
    assert.equal((h.store.rec.reported as { state?: string } | undefined)?.state, 'rejected');
  });

  it('a "__proto__" key in the overlay is an unknown key, not a prototype', () => {
    const h = harness();
    const r = h.sync.handle(Buffer.from('{"version":1,"config":{"log":{"__proto__":{"level":"debug"}}}}'));
    assert.equal(r?.state, 'rejected');
    assert.match(r?.errors[0] ?? '', /^log\.__proto__: unknown key/);
  });

  it('identity, state location and the signing key cannot be changed over MQTT', () => {
    const h = harness();
    const r = h.send({ version: 1, config: { device: { id: 'tw-other-0001' }, mqtt: { fleetPublicKeyFile: '/tmp/attacker.pem' }, log: { level: 'debug' } } });
    assert.equal(r?.state, 'rejected');
    assert.deepEqual(r?.errors.map((e) => e.slice(0, e.indexOf(':'))), ['device.id', 'mqtt.fleetPublicKeyFile']);
    assert.deepEqual([h.levels, h.store.rec.version], [[], 0]);
    assert.equal(h.send({ version: 2, config: { device: { id: h.fileConfig.device.id } } })?.state, 'applied', 'restating the same value is no change');
  });

  it('a malformed payload is rejected with a clear error', () => {
    const h = harness();
    assert.match(h.sync.handle(Buffer.from('{nope'))?.errors[0] ?? '', /not JSON/);
    assert.match(h.send({ version: 'seven', config: {} })?.errors[0] ?? '', /version: /);
    assert.equal(h.send({ version: 2, config: {}, extra: true })?.state, 'rejected');
  });

  it('never echoes a secret value', () => {
    const h = harness();
    const r = h.send({ version: 2, config: { mqtt: { password: 12345 } } });
    assert.equal(r?.state, 'rejected');
    assert.deepEqual(r?.errors, ['mqtt.password: is not valid (value withheld: secret)']);
    const ok = h.send({ version: 3, config: { mqtt: { password: 'new-secret-value' } } });
    assert.doesNotMatch(JSON.stringify(ok), /secret-value|file-secret/);
  });

  it('never echoes a secret nested in a wrongly typed value, and still names the path', () => {
    const h = harness();
    const r = h.send({ version: 2, config: { device: { site: { token: 'nested-s3cr3t' } }, sip: { transport: { password: 'x-s3cr3t' } } } });
    assert.equal(r?.state, 'rejected');
    assert.doesNotMatch(JSON.stringify(r), /s3cr3t/);
    assert.ok(r?.errors.some((e) => e.startsWith('device.site: ')), JSON.stringify(r?.errors));
    assert.ok(r?.errors.some((e) => e.startsWith('sip.transport: ')), JSON.stringify(r?.errors));
  });

  it('the next start lays the stored overlay over the file configuration', () => {
    const h = harness();
    h.send({ version: 4, config: { sip: { ptimeMs: 30 } } });
    const started = configWithStoredOverlay(h.fileConfig, h.store, validate, nullLogger);
    assert.deepEqual([started.version, started.config.sip.ptimeMs], [4, 30]);
    h.store.rec = { ...h.store.rec, overlay: { sip: { ptimeMs: 25 } } };
    const fallback = configWithStoredOverlay(h.fileConfig, h.store, validate, nullLogger);
    assert.deepEqual([fallback.version, fallback.config.sip.ptimeMs], [0, 20], 'an overlay that no longer validates is not used');
  });
});

describe('fleet config/desired decoder on arbitrary input', () => {
  it('never throws and always reports a known state or ignores (10k inputs, fixed seed)', async () => {
    const fc = await import('fast-check');
    const h = harness();
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ version: fc.integer({ min: -2, max: 1e6 }), config: fc.jsonValue() }), fc.string()), (v) => {
        const r = h.sync.handle(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
        if (r !== undefined) assert.ok(['applied', 'rejected', 'pending_restart'].includes(r.state));
      }),
      { numRuns: 10_000, seed: 7 },
    );
  });
});
