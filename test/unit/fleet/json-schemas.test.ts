/**
 * docs/mqtt/schemas/ is generated from the zod schemas the device validates with: this fails when a
 * committed file is missing, stale or has no source (fix: `node dist/scripts/mqtt-schemas.js`).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mqttJsonSchemas, schemaFileText } from '../../../controller/fleet/json-schemas';
import { RPC_PARAMS } from '../../../controller/fleet/rpc/method-params';

const dir = resolve(__dirname, '..', '..', '..', '..', 'docs', 'mqtt', 'schemas');

describe('MQTT JSON Schemas (docs/mqtt/schemas)', () => {
  const wanted = mqttJsonSchemas();

  it('has one schema per published family, config/desired and every command', () => {
    for (const n of ['status', 'info', 'health', 'metrics', 'span', 'port', 'sip-trunk', 'alarm', 'call', 'pay', 'event', 'rpc-reply', 'config-reported', 'config-desired']) {
      assert.ok(wanted.has(`${n}.schema.json`), n);
    }
    for (const m of Object.keys(RPC_PARAMS)) assert.ok(wanted.has(`rpc-request.${m}.schema.json`), m);
  });

  it('every schema is draft 2020-12 with its own $id', () => {
    const ids = new Set<string>();
    for (const [name, doc] of wanted) {
      const d = doc as { $schema?: string; $id?: string };
      assert.equal(d.$schema, 'https://json-schema.org/draft/2020-12/schema', name);
      assert.ok(d.$id?.endsWith(`:${name}`), name);
      ids.add(d.$id ?? '');
    }
    assert.equal(ids.size, wanted.size);
  });

  it('the committed files are current (regenerate with node dist/scripts/mqtt-schemas.js)', () => {
    const stale = [...wanted].filter(([name, doc]) => !existsSync(join(dir, name)) || readFileSync(join(dir, name), 'utf8') !== schemaFileText(doc)).map(([n]) => n);
    assert.deepEqual(stale, []);
    const orphans = readdirSync(dir).filter((n) => n.endsWith('.schema.json') && !wanted.has(n));
    assert.deepEqual(orphans, []);
  });
});
