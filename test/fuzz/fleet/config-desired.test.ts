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
 *
 * Signed configuration: the device has a fleet key, so `sig` is required for sensitive keys
 * (config-sync.ts SIGNED_CONFIG_KEYS). Payloads carry no sig, a scalar, a signature by another key,
 * or a valid one (over the version and config actually sent), and some overlays are valid configs
 * that touch payments, SIP security and the requirement itself. Per payload: an accepted version
 * whose `sig` does not verify with the fleet key changed no sensitive key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { nullLogger } from '../../../hw/base/logger';
import { validateConfig } from '../../../controller/app/fleet-commands';
import { parseConfig } from '../../../controller/config/load';
import { ConfigSync, SIGNED_CONFIG_KEYS, canonicalConfig, changedPaths, overlayConfig, signConfig } from '../../../controller/fleet/config-sync';
import type { Config } from '../../../controller/config/schema';
import { verifyRequestSignature } from '../../../controller/fleet/rpc/signature';
import type { ConfigReportedBody } from '../../../controller/fleet/payload-schemas';
import type { FleetConfigRecord } from '../../../controller/store/fleet-config';
import type { JsonObject } from '../../../controller/store/json';
import { objectWithKeys, payloadBytes, scalar } from '../../lib/fleet-fuzz';
import { FUZZ_RUNS, runFuzz } from '../../lib/fuzz-run';
import { ManualClock } from '../../lib/manual-clock';

const SECRET = /^(password|secret|key|privateKey|token|passphrase)$/i;
const CONFIG_KEYS = [
  'device', 'log', 'card', 'pstn', 'sip', 'mqtt', 'store', 'payments', 'gpio',
  'id', 'stateDir', 'site', 'level', 'format', 'file', 'sim', 'enabled', 'model', 'transport', 'script', 'callIntervalMs',
  'url', 'topicRoot', 'username', 'password', 'keepaliveS', 'willDelayS', 'sessionExpiryS', 'tls', 'ca', 'cert', 'key', 'token',
  'bindPort', 'bindAddress', 'contactCenterUri', 'codecs', 'ptimeMs', 'rtpPortMin', 'rtpPortMax', 'outboxMaxRows', 'processor', 'kind', 'clearKey', 'endKey',
  'srtp', 'edge', 'binDigits', 'blankDuringSecurityCode', 'requireSignedConfig', 'fleetPublicKeyFile',
] as const;

const fleetKeys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');

/** Valid overlays touching sensitive and ordinary keys (random objects rarely validate). */
const validOverlay = fc.record(
  {
    log: fc.record({ level: fc.constantFrom('debug', 'info', 'warn') }),
    payments: fc.record({ binDigits: fc.constantFrom(0, 6, 8), blankDuringSecurityCode: fc.boolean() }, { requiredKeys: [] }),
    sip: fc.record({ srtp: fc.constantFrom('off', 'offer', 'require') }),
    mqtt: fc.record({ requireSignedConfig: fc.boolean(), metricsIntervalS: fc.constantFrom(30, 60) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

type Desired = { version: unknown; config: unknown; actor?: unknown; sig?: unknown };
/** Adds `sig`: none, a scalar, another key's signature, or the fleet key's over what is sent. */
const withSig = (d: Desired, mode: number, junk: unknown): Desired => {
  const { sig: _drop, ...rest } = d;
  if (mode === 0) return rest;
  if (mode === 1) return { ...rest, sig: junk };
  const v = typeof d.version === 'number' ? d.version : 0;
  return { ...rest, sig: signConfig(mode === 2 ? otherKeys.privateKey : fleetKeys.privateKey, v, d.config) };
};

function sigVerifies(payload: Buffer): boolean {
  const d = JSON.parse(payload.toString('utf8')) as Desired;
  return typeof d.sig === 'string' && typeof d.version === 'number' && verifyRequestSignature(fleetKeys.publicKey, canonicalConfig(d.version, d.config), d.sig);
}

const sensitiveChanges = (a: Config, b: Config): string[] => changedPaths(a, b).filter((p) => SIGNED_CONFIG_KEYS.some((k) => p === k || p.startsWith(`${k}.`)));

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

  it(`${FUZZ_RUNS} payloads: no crash, one report or ignored, rejections name errors, secrets never echoed, sensitive keys only signed`, async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 8, 0, 0));
    const fileConfig = parseConfig({ device: { id: 'tw-fuzz-0001', stateDir: '/tmp/tw-fuzz-unused' }, mqtt: { fleetPublicKeyFile: '/etc/tonewall/fleet.pub' } });
    let effective: Config = fileConfig;
    let record: FleetConfigRecord = { version: 0, overlay: {}, reported: undefined };
    const store = {
      get: () => record,
      accept: (version: number, overlay: JsonObject, reported: JsonObject) => void (record = { version, overlay, reported }),
      report: (reported: JsonObject) => void (record = { ...record, reported }),
    };
    const published: ConfigReportedBody[] = [];
    const nested = { count: 0, paths: new Set<string>() };
    let signedSensitive = 0;
    const sync = new ConfigSync({
      fileConfig,
      running: fileConfig,
      store,
      validate: validateConfig,
      live: [{ prefix: 'log.level', apply: () => undefined }, { prefix: 'payments', apply: () => undefined }],
      publish: (b) => void published.push(b),
      clock,
      log: nullLogger,
      fleetKey: fleetKeys.publicKey,
    });
    const version = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: scalar });
    const config = fc.oneof({ weight: 6, arbitrary: objectWithKeys(CONFIG_KEYS, 3).map((o) => plantCanaries(o)) }, { weight: 3, arbitrary: validOverlay }, { weight: 1, arbitrary: scalar });
    const desired = fc
      .tuple(fc.record({ version, config, actor: scalar, sig: scalar }, { requiredKeys: ['version', 'config'] }), fc.integer({ min: 0, max: 3 }), scalar)
      .map(([d, mode, junk]) => withSig(d, mode, junk));
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
      else {
        assert.ok(r.version > applied && record.version === r.version, 'an accepted version is persisted');
        const next = validateConfig(overlayConfig(fileConfig, (JSON.parse(payload.toString('utf8')) as Desired).config));
        assert.ok(next.ok, 'an accepted overlay validates');
        if (!sigVerifies(payload)) assert.deepEqual(sensitiveChanges(effective, next.config), [], 'an unsigned version changed a sensitive key');
        else signedSensitive += sensitiveChanges(effective, next.config).length > 0 ? 1 : 0;
        effective = next.config;
      }
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
    assert.ok(signedSensitive > 0, 'no signed version changing a sensitive key was accepted: the generator misses the case');
    assert.equal(nested.count, 0, `reports echoed a secret nested in a non-secret value (paths such as ${[...nested.paths].slice(0, 3).join(', ')})`);
  });
});
