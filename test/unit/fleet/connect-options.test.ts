import assert from 'node:assert/strict';
import { UniqueMessageIdProvider } from 'mqtt';
import { configSchema } from '../../../controller/config/schema';
import { buildConnectOptions } from '../../../controller/fleet/connect-options';

const mqttCfg = configSchema.parse({ mqtt: { willDelayS: 15, sessionExpiryS: 300, keepaliveS: 30 } }).mqtt;
const will = { topic: 'tonewall/v1/d/status', payload: '{"state":"offline"}' };

describe('fleet/connect-options (mqtt-fleet.md §7.4)', () => {
  it('MQTT 5: persistent session, will delay, no MQTT.js reconnect, unique ids, no QoS 0 queue', () => {
    const o = buildConnectOptions({ mqtt: mqttCfg, clientId: 'd', will, protocolVersion: 5 });
    assert.equal(o.protocolVersion, 5);
    assert.equal(o.clientId, 'd');
    assert.equal(o.clean, false);
    assert.equal(o.reconnectPeriod, 0);
    assert.equal(o.manualConnect, true);
    assert.equal(o.queueQoSZero, false);
    assert.equal(o.keepalive, 30);
    assert.ok(o.messageIdProvider instanceof UniqueMessageIdProvider);
    assert.deepEqual(o.properties, { sessionExpiryInterval: 300 });
    assert.equal(o.will?.qos, 1);
    assert.equal(o.will?.retain, true);
    assert.equal(o.will?.properties?.willDelayInterval, 15);
    assert.equal(o.will?.properties?.contentType, 'application/json');
    assert.equal(o.will?.payload.toString(), will.payload);
    assert.ok((o.properties?.sessionExpiryInterval ?? 0) >= (o.will?.properties?.willDelayInterval ?? 0));
  });

  it('MQTT 3.1.1 (embedded aedes): no v5 properties', () => {
    const o = buildConnectOptions({ mqtt: mqttCfg, clientId: 'd', will, protocolVersion: 4 });
    assert.equal(o.protocolVersion, 4);
    assert.equal(o.properties, undefined);
    assert.equal(o.will?.properties, undefined);
  });

  it('reads TLS files and names the one it cannot read', () => {
    const tlsCfg = { ...mqttCfg, tls: { ...mqttCfg.tls, ca: '/x/ca.pem', cert: '/x/missing.pem' } };
    const read = (p: string): Buffer => {
      if (p === '/x/ca.pem') return Buffer.from('CA');
      throw new Error('ENOENT');
    };
    assert.throws(() => buildConnectOptions({ mqtt: tlsCfg, clientId: 'd', will, protocolVersion: 5, readFile: read }), /cannot read mqtt.tls.cert "\/x\/missing.pem"/);
    const ok = buildConnectOptions({ mqtt: { ...tlsCfg, tls: { ...tlsCfg.tls, cert: undefined } }, clientId: 'd', will, protocolVersion: 5, readFile: read });
    assert.equal(ok.ca?.toString(), 'CA');
    assert.equal(ok.rejectUnauthorized, true);
  });
});
