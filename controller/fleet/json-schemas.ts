/**
 * The MQTT API as JSON Schema (draft 2020-12), generated from the zod schemas that the device itself
 * validates with (payload-schemas.ts, rpc/method-params.ts, rpc/rpc-server.ts). One file per
 * published topic family, one for `config/desired`, one per command request.
 * scripts/mqtt-schemas.ts writes them to docs/mqtt/schemas/; test/unit/fleet checks they are current.
 */
import { z } from 'zod';
import { configDesiredSchema, PUBLISHED_SCHEMAS } from './payload-schemas';
import { otaJobSchema } from './ota/job';
import { RPC_PARAMS } from './rpc/method-params';
import { rpcRequestSchema } from './rpc/rpc-server';

export const SCHEMA_ID_BASE = 'urn:tonewall:mqtt:v1:';

const TITLES: Record<keyof typeof PUBLISHED_SCHEMAS, string> = {
  status: '`status` (QoS 1, retained; also the last will)',
  info: '`info` birth record (QoS 1, retained)',
  health: '`health` (QoS 1, retained)',
  metrics: '`metrics` (QoS 0, message expiry 2× the interval)',
  span: '`spans/{n}` (QoS 1, retained)',
  port: '`ports/{n}` (QoS 1, retained)',
  'sip-trunk': '`sip/{trunk}` (QoS 1, retained)',
  alarm: '`alarms/{alarmId}` (QoS 1, retained while active; empty payload clears)',
  call: '`calls/{callId}` (QoS 1, retained with expiry; empty payload clears)',
  pay: '`pay/{sessionId}` (QoS 1, retained with expiry; empty payload clears)',
  event: '`events/{type}` (QoS 1, from the outbox)',
  'rpc-reply': '`rpc/res/{requester}` command reply (QoS 1, message expiry)',
  'config-reported': '`config/reported` (QoS 1, retained)',
  'ota-state': '`ota/state` update job state (QoS 1, retained)',
};

/** `io`: inbound schemas describe what may be sent (defaults optional), outbound what is sent. */
function document(name: string, title: string, schema: z.ZodType, io: 'input' | 'output' = 'output'): object {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io }) as Record<string, unknown>;
  const { $schema, ...rest } = json;
  return { $schema, $id: `${SCHEMA_ID_BASE}${name}.schema.json`, title, ...rest };
}

/** File name (`status.schema.json`, …) → JSON Schema document, in a stable order. */
export function mqttJsonSchemas(): Map<string, object> {
  const out = new Map<string, object>();
  for (const [family, schema] of Object.entries(PUBLISHED_SCHEMAS) as [keyof typeof PUBLISHED_SCHEMAS, z.ZodType][]) {
    out.set(`${family}.schema.json`, document(family, TITLES[family], schema));
  }
  out.set('config-desired.schema.json', document('config-desired', '`config/desired` (inbound, retained): versioned partial configuration', configDesiredSchema, 'input'));
  out.set('ota-job.schema.json', document('ota-job', '`ota/job` (inbound, retained): signed update job; an empty payload cancels', otaJobSchema, 'input'));
  for (const [method, params] of Object.entries(RPC_PARAMS) as [string, z.ZodType][]) {
    const req = rpcRequestSchema.extend({ params: params.optional() });
    out.set(`rpc-request.${method}.schema.json`, document(`rpc-request.${method}`, `\`rpc/req/${method}\` request (inbound, MQTT 5 response topic + correlation data)`, req, 'input'));
  }
  return out;
}

/** The text a schema file holds: 2-space JSON and a final newline. */
export function schemaFileText(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
