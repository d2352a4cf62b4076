import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, environmentVariables, loadConfig, parseConfig } from '../../../controller/config/load';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an empty configuration is the complete embedded demo', () => {
    const c = parseConfig({});
    assert.equal(c.card.sim.enabled, true);
    assert.equal(c.mqtt.embeddedBroker.enabled, true);
    assert.equal(c.device.stateDir, './var');
    assert.equal(c.sip.demoEndpoint.enabled, true);
    assert.deepEqual(c.sip.codecs, ['PCMU', 'PCMA']);
  });

  it('reports every problem at once, each naming the key and the bad value', () => {
    const p = problems(() => parseConfig({ sip: { bindPort: 70000, ptimeMs: 25 }, mqtt: { url: 'http://x' } }));
    assert.equal(p.length, 3);
    assert.ok(p.some((l) => l.startsWith('sip.bindPort: 70000 is not valid')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('sip.ptimeMs: 25 is not valid')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('mqtt.url: "http://x" is not valid: expected mqtt://')), p.join('\n'));
  });

  it('rejects an unknown key with a did-you-mean hint and the allowed keys', () => {
    const p = problems(() => parseConfig({ sip: { contactCentreUri: 'sip:x@y' } }));
    assert.equal(p.length, 1);
    assert.match(p[0] ?? '', /^sip\.contactCentreUri: unknown key \(did you mean "contactCenterUri"\?\); allowed here: .*bindPort/);
  });

  it('checks cross-field rules: session expiry must cover the will delay', () => {
    const p = problems(() => parseConfig({ mqtt: { willDelayS: 30, sessionExpiryS: 10 } }));
    assert.deepEqual(p, ['mqtt.sessionExpiryS: 10 is not valid: must be at least mqtt.willDelayS (30) so the will can fire']);
  });

  it('loads a file and applies environment overrides with type coercion', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ device: { id: 'tw-lon-0042' }, sip: { bindPort: 5070 } }));
    const { config, sources } = loadConfig({
      file,
      env: { TONEWALL_SIP_BIND_PORT: '5090', TONEWALL_CARD_SIM_ENABLED: 'false', TONEWALL_CARD_PATH: '/dev/ttyACM0', TONEWALL_SIP_CODECS: '["PCMA"]' },
    });
    assert.deepEqual(sources, [file, 'env']);
    assert.equal(config.device.id, 'tw-lon-0042');
    assert.equal(config.sip.bindPort, 5090);
    assert.equal(config.card.sim.enabled, false);
    assert.deepEqual(config.sip.codecs, ['PCMA']);
  });

  it('fails start-up on a malformed file with a message naming the file and the problem', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "sip": { "bindPort": 5060, } }');
    assert.throws(() => loadConfig({ file, env: {} }), (err: Error) => err instanceof ConfigError && err.message.includes(file) && /not valid JSON/.test(err.message));
    writeFileSync(file, JSON.stringify({ card: { keepaliveMs: 'fast' } }));
    assert.throws(() => loadConfig({ file, env: {} }), /card\.keepaliveMs: "fast" is not valid: .*expected number/);
  });

  it('rejects an unknown TONEWALL_ variable with a hint', () => {
    const p = problems(() => loadConfig({ env: { TONEWALL_MQTT_URLL: 'mqtt://x' }, searchPath: [] }));
    assert.deepEqual(p, ['TONEWALL_MQTT_URLL: unknown environment variable (did you mean TONEWALL_MQTT_URL?)']);
  });

  it('names an environment variable for every leaf key', () => {
    const names = environmentVariables().map((v) => v.name);
    assert.ok(names.includes('TONEWALL_MQTT_EMBEDDED_BROKER_PORT'));
    assert.ok(names.includes('TONEWALL_SIP_CONTACT_CENTER_URI'));
    assert.equal(new Set(names).size, names.length, 'names are unique');
  });
});
