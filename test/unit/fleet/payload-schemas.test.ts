/** The payload schemas the single publish path checks (payload-schemas.ts). */
import assert from 'node:assert/strict';
import { checkPayload, configDesiredSchema, familyOf } from '../../../controller/fleet/payload-schemas';

const env = { v: 1, ts: 1_767_000_000_000, dev: 'tw-unit-0001', boot: 'b0a7c3e2-0000-4000-8000-000000000001', conn: 3, seq: 7 };

describe('fleet payload schemas', () => {
  it('maps every topic family and nothing else', () => {
    assert.equal(familyOf('status'), 'status');
    assert.equal(familyOf('spans/1'), 'span');
    assert.equal(familyOf('ports/4'), 'port');
    assert.equal(familyOf('sip/main'), 'sip-trunk');
    assert.equal(familyOf('config/reported'), 'config-reported');
    assert.equal(familyOf('rpc/res/agent-1'), 'rpc-reply');
    assert.equal(familyOf('config/desired'), undefined, 'inbound only');
    assert.equal(familyOf('status/extra'), undefined);
    assert.match(checkPayload('nonsense', { ...env }) ?? '', /has no payload schema/);
  });

  it('accepts a well-formed payload of each new family', () => {
    const ok: [string, object][] = [
      ['health', { overall: 'degraded', checks: { cardLink: { status: 'ok', state: 'up' }, disk: { status: 'degraded', freeBytes: 10, totalBytes: 100, freePct: 10 } } }],
      ['metrics', { intervalS: 60, counters: { callsTotal: 3 }, gauges: { rssBytes: 1e8 } }],
      ['spans/1', { span: 1, kind: 'E1', state: 'alarm', alarms: ['LOS'], dchannel: 'down', channels: 30, channelsInUse: 0 }],
      ['ports/2', { port: 2, state: 'idle' }],
      ['sip/main', { trunk: 'main', registration: 'registered', reachable: true }],
      ['config/reported', { version: 4, state: 'rejected', errors: ['log.level: "loud" is not valid'], appliedAt: 1_767_000_000_000 }],
    ];
    for (const [topic, body] of ok) assert.equal(checkPayload(topic, { ...env, ...body }), undefined, topic);
  });

  it('refuses an unknown field, a wrong type, a missing envelope field; the text names paths, not values', () => {
    const bad = checkPayload('alarms/a1', { ...env, alarmId: 'a1', severity: 'apocalyptic', source: 'x', raisedAt: 1, text: 'secret-value-xyz' });
    assert.match(bad ?? '', /alarm payload does not match its schema: severity: /);
    assert.doesNotMatch(bad ?? '', /apocalyptic|secret-value-xyz/);
    assert.match(checkPayload('ports/1', { ...env, port: 1, state: 'idle', extra: 1 }) ?? '', /Unrecognized key/);
    const { seq: _seq, ...noSeq } = env;
    assert.match(checkPayload('status', { ...noSeq, state: 'online', reason: 'startup', fw: '1', slot: 'A' }) ?? '', /seq: /);
  });

  it('config/desired needs a positive integer version and a config object', () => {
    assert.equal(configDesiredSchema.safeParse({ version: 1, config: { log: { level: 'debug' } } }).success, true);
    assert.equal(configDesiredSchema.safeParse({ version: 0, config: {} }).success, false);
    assert.equal(configDesiredSchema.safeParse({ version: 2, config: [] }).success, false);
    assert.equal(configDesiredSchema.safeParse({ version: 2, config: {}, other: 1 }).success, false);
  });
});
