/**
 * Fuzzing `config/desired` decoding (DESIGN.md §6–7): ConfigSync.handle with the appliance's own
 * validator (the config schema, controller/app/fleet-commands.ts validateConfig) and an in-memory
 * store. ≥ 1,000,000 payloads with a fixed seed (TW_FUZZ_RUNS to change), `npm run test:fuzz`.
 *
 * Per payload: handle() never throws; it publishes exactly one report or ignores the version (then
 * publishes nothing); a report is applied | pending_restart | rejected, a rejection lists at least
 * one error; the value at a secret key (password, key, token, secret, passphrase, privateKey) is never
 * echoed, nor one nested inside a wrongly typed non-secret value (this run found that; config-sync
 * now withholds such values); versions at or below the applied one are ignored.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nullLogger } from '../../../hw/base/logger';
import { validateConfig } from '../../../controller/app/fleet-commands';
import { parseConfig } from '../../../controller/config/load';
import { ConfigSync } from '../../../controller/fleet/config-sync';
import type { ConfigReportedBody } from '../../../controller/fleet/payload-schemas';
import type { FleetConfigRecord } from '../../../controller/store/fleet-config';
import type { JsonObject } from '../../../controller/store/json';
import { FUZZ_RUNS, objectWithKeys, payloadBytes, runFuzz, scalar } from '../../lib/fleet-fuzz';
import { ManualClock } from '../../lib/manual-clock';

const SECRET = /^(password|secret|key|privateKey|token|passphrase)$/i;
const CONFIG_KEYS = [
  'device', 'log', 'card', 'pstn', 'sip', 'mqtt', 'store', 'payments', 'gpio',
  'id', 'stateDir', 'site', 'level', 'format', 'file', 'sim', 'enabled', 'model', 'transport', 'script', 'callIntervalMs',
  'url', 'topicRoot', 'username', 'password', 'keepaliveS', 'willDelayS', 'sessionExpiryS', 'tls', 'ca', 'cert', 'key', 'token',
  'bindPort', 'bindAddress', 'contactCenterUri', 'codecs', 'ptimeMs', 'rtpPortMin', 'rtpPortMax', 'outboxMaxRows', 'processor', 'kind', 'clearKey', 'endKey',
] as const;

/** Replaces every value under a secret-named key with a canary the reports must never contain. */
function plantCanaries(v: unknown, n = { i: 0 }): unknown {
  if (Array.isArray(v)) return v.map((x) => plantCanaries(x, n));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const canary = `CANARY-${++n.i}-s3cr3t`;
    out[k] = SECRET.test(k) ? (n.i % 3 === 0 ? { nested: canary } : n.i % 3 === 1 ? canary : [canary]) : plantCanaries(x, n);
  }
  return out;
}

describe('fuzz: config/desired decoding', function () {
  this.timeout(1_800_000);

  it(`${FUZZ_RUNS} payloads: no crash, one report or ignored, rejections name errors, secrets never echoed`, async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 8, 0, 0));
    const fileConfig = parseConfig({ device: { id: 'tw-fuzz-0001', stateDir: '/tmp/tw-fuzz-unused' } });
    let record: FleetConfigRecord = { version: 0, overlay: {}, reported: undefined };
    const store = {
      get: () => record,
      accept: (version: number, overlay: JsonObject, reported: JsonObject) => void (record = { version, overlay, reported }),
      report: (reported: JsonObject) => void (record = { ...record, reported }),
    };
    const published: ConfigReportedBody[] = [];
    const nested = { count: 0, paths: new Set<string>() };
    const sync = new ConfigSync({
      fileConfig,
      running: fileConfig,
      store,
      validate: validateConfig,
      live: [{ prefix: 'log.level', apply: () => undefined }, { prefix: 'payments', apply: () => undefined }],
      publish: (b) => void published.push(b),
      clock,
      log: nullLogger,
    });
    const version = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: scalar });
    const desired = fc.record({ version, config: fc.oneof({ weight: 8, arbitrary: objectWithKeys(CONFIG_KEYS, 3).map((o) => plantCanaries(o)) }, { weight: 1, arbitrary: scalar }), actor: scalar, sig: scalar }, { requiredKeys: ['version', 'config'] });
    const input = fc.tuple(payloadBytes(desired), fc.integer({ min: 0, max: 5 }));
    const property = fc.property(input, ([payload, applied]) => {
      record = { version: applied, overlay: {}, reported: undefined };
      published.length = 0;
      const r = sync.handle(payload);
      assert.equal(published.length, r === undefined ? 0 : 1, 'one report, or none when ignored');
      if (r === undefined) {
        const v = (JSON.parse(payload.toString('utf8')) as { version: number }).version;
        assert.ok(v <= applied, `version ${v} above the applied ${applied} was ignored`);
        return;
      }
      assert.ok(['applied', 'pending_restart', 'rejected'].includes(r.state), r.state);
      if (r.state === 'rejected') assert.ok(r.errors.length > 0 && r.errors.every((e) => typeof e === 'string' && e.length > 0), 'a rejection lists its errors');
      else assert.ok(r.version > applied && record.version === r.version, 'an accepted version is persisted');
      for (const line of r.errors) {
        if (!line.includes('s3cr3t')) continue;
        const path = /^([A-Za-z0-9_.]+): /.exec(line)?.[1] ?? '(root)';
        assert.ok(!SECRET.test(path.slice(path.lastIndexOf('.') + 1)), `the value at secret key ${path} was echoed`);
        nested.count++;
        nested.paths.add(path);
      }
      assert.ok(!JSON.stringify({ ...r, errors: [] }).includes('s3cr3t'), 'a secret outside the error lines');
    });
    await runFuzz('config/desired', property, 0x7e57_00c0);
    assert.equal(nested.count, 0, `reports echoed a secret nested in a non-secret value (paths such as ${[...nested.paths].slice(0, 3).join(', ')})`);
  });
});
