/**
 * Signed configuration (config-sync.ts; mqtt-fleet.md §6 "Command authorization" (3)): a desired
 * version that changes payment, masking, SIP security or broker keys needs the fleet key's
 * signature; other keys apply as before.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { nullLogger } from '../../../hw/base/logger';
import { ConfigError, parseConfig } from '../../../controller/config/load';
import type { Config } from '../../../controller/config/schema';
import { ConfigSync, type ConfigValidator, SIGNED_CONFIG_KEYS, signConfig, signedConfigRequired } from '../../../controller/fleet/config-sync';
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

const fleet = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const fleetPem = fleet.publicKey.export({ type: 'spki', format: 'pem' }).toString();

function harness(mqtt: Record<string, unknown> = { fleetPublicKeyFile: '/etc/tonewall/fleet.pub' }, readFile: (p: string) => string = () => fleetPem) {
  const fileConfig: Config = parseConfig({ mqtt });
  let rec: FleetConfigRecord = { version: 0, overlay: {}, reported: undefined };
  const store = {
    get: () => rec,
    accept: (version: number, overlay: JsonObject, reported: JsonObject) => void (rec = { version, overlay, reported }),
    report: (reported: JsonObject) => void (rec = { ...rec, reported }),
  };
  const reports: ConfigReportedBody[] = [];
  const sync = new ConfigSync({
    fileConfig, running: fileConfig, store, validate, clock: new ManualClock(1_767_000_000_000), log: nullLogger, readFile,
    live: [{ prefix: 'log.level', apply: () => undefined }, { prefix: 'payments', apply: () => undefined }],
    publish: (b) => reports.push(b),
  });
  const send = (v: unknown) => sync.handle(Buffer.from(JSON.stringify(v)));
  return { sync, send, reports, version: () => rec.version };
}

const sensitive = { payments: { processor: { kind: 'generic-jwe', url: 'https://pay.example.net/v1', publicKeyFile: '/k.pem', caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/c.key' }, blankDuringSecurityCode: true } };

describe('signed configuration (config/desired sig)', () => {
  it('is required when a fleet key is configured, unless turned off; can be forced on', () => {
    assert.equal(signedConfigRequired(parseConfig({})), false);
    assert.equal(signedConfigRequired(parseConfig({ mqtt: { fleetPublicKeyFile: '/f.pem' } })), true);
    assert.equal(signedConfigRequired(parseConfig({ mqtt: { fleetPublicKeyFile: '/f.pem', requireSignedConfig: false } })), false);
    assert.equal(signedConfigRequired(parseConfig({ mqtt: { requireSignedConfig: true } })), true);
  });

  it('an unsigned change of payment/masking keys is rejected, naming every unsigned key', () => {
    const h = harness();
    const r = h.send({ version: 1, config: { ...sensitive, log: { level: 'debug' } } });
    assert.equal(r?.state, 'rejected');
    const keys = r?.errors.map((e) => e.slice(0, e.indexOf(':')));
    assert.deepEqual(keys, ['payments.blankDuringSecurityCode', 'payments.processor.caFile', 'payments.processor.certFile', 'payments.processor.keyFile', 'payments.processor.kind', 'payments.processor.publicKeyFile', 'payments.processor.url']);
    assert.ok(r?.errors.every((e) => e.includes('"sig"')));
    assert.equal(h.version(), 0, 'nothing applied');
  });

  it('the same version signed by the fleet key is accepted', () => {
    const h = harness();
    const config = { ...sensitive, log: { level: 'debug' } };
    const r = h.send({ version: 1, config, sig: signConfig(fleet.privateKey, 1, config) });
    assert.equal(r?.state, 'applied', JSON.stringify(r?.errors));
    assert.equal(h.version(), 1);
  });

  it('a signature by another key, for another version or another config does not verify', () => {
    const h = harness();
    const config = { sip: { srtp: 'off' as const, edge: { allow: [] } }, mqtt: { url: 'mqtt://rogue.example:1883' } };
    const cases = [signConfig(other.privateKey, 1, config), signConfig(fleet.privateKey, 2, config), signConfig(fleet.privateKey, 1, { mqtt: { url: 'mqtt://rogue.example:1883' } }), 'A'.repeat(88)];
    for (const sig of cases) {
      const r = h.send({ version: 1, config, sig });
      assert.equal(r?.state, 'rejected');
      assert.ok(r?.errors.some((e) => e.startsWith('mqtt.url:') && e.includes('does not verify')), JSON.stringify(r?.errors));
    }
  });

  it('other keys apply unsigned as before; restating a signed value later needs no signature', () => {
    const h = harness();
    assert.equal(h.send({ version: 1, config: { log: { level: 'debug' } } })?.state, 'applied');
    const config = { log: { level: 'debug' }, payments: { binDigits: 6 } };
    assert.equal(h.send({ version: 2, config, sig: signConfig(fleet.privateKey, 2, config) })?.state, 'applied');
    assert.equal(h.send({ version: 3, config: { log: { level: 'info' }, payments: { binDigits: 6 } } })?.state, 'applied', 'payments unchanged');
    const r = h.send({ version: 4, config: { log: { level: 'info' } } });
    assert.deepEqual([r?.state, r?.errors.map((e) => e.slice(0, e.indexOf(':')))], ['rejected', ['payments.binDigits']], 'dropping a signed value is a change too');
  });

  it('turning the requirement off is itself a signed change', () => {
    const h = harness();
    const r = h.send({ version: 1, config: { mqtt: { requireSignedConfig: false } } });
    assert.deepEqual([r?.state, r?.errors.map((e) => e.slice(0, e.indexOf(':')))], ['rejected', ['mqtt.requireSignedConfig']]);
    assert.ok(SIGNED_CONFIG_KEYS.includes('payments'));
  });

  it('without a loadable fleet key a required signature fails closed; when not required, nothing changes', () => {
    const broken = harness({ fleetPublicKeyFile: '/missing.pem' }, () => {
      throw new Error('ENOENT');
    });
    const r = broken.send({ version: 1, config: sensitive, sig: signConfig(fleet.privateKey, 1, sensitive) });
    assert.equal(r?.state, 'rejected');
    assert.ok(r?.errors.every((e) => e.includes('no fleet key is loaded')));
    const off = harness({});
    assert.equal(off.send({ version: 1, config: sensitive })?.state, 'applied');
  });
});
