/**
 * The MQTT payload schemas (DESIGN.md §6; docs/mqtt/schemas/): the source of truth for every JSON
 * payload the device publishes and every inbound one it accepts. `scripts/mqtt-schemas.ts` writes
 * them out as JSON Schema (draft 2020-12) with zod's `z.toJSONSchema`; a unit test fails when the
 * committed files are stale. The reporter's single publish path validates every outgoing payload
 * against the schema of its topic family (`schemaForTopic`) and refuses what does not match.
 *
 * Outgoing payloads are the envelope (`v, ts, dev, boot, conn, seq`) plus the body of the topic;
 * bodies are strict (an unknown field is a bug worth a refusal), except `pay/{sessionId}`, whose
 * masked snapshot belongs to controller/secure and is open beyond its three identifying fields.
 */
import { z } from 'zod';

const int = z.number().int();
const nonNegInt = int.min(0);
/** ms since epoch. */
const epochMs = nonNegInt;
const checkStatus = z.enum(['ok', 'degraded', 'failed']);

export const envelopeShape = {
  v: z.literal(1),
  ts: epochMs,
  dev: z.string().min(1).max(128),
  boot: z.string().min(1).max(64),
  conn: nonNegInt,
  seq: int.min(1),
};

export const statusBodyShape = {
  state: z.enum(['online', 'offline']),
  reason: z.enum(['startup', 'reconnect', 'shutdown', 'restart', 'lwt']),
  fw: z.string(),
  slot: z.string(),
};

export const infoBodyShape = {
  site: z.string().optional(),
  hw: z
    .strictObject({
      model: z.string().optional(),
      serial: z.string().optional(),
      card: z.strictObject({ model: z.string().optional(), fw: z.string().optional(), spans: nonNegInt.optional(), ports: nonNegInt.optional() }).optional(),
    })
    .optional(),
  sw: z
    .strictObject({
      tonewall: z.string().optional(),
      node: z.string().optional(),
      os: z.string().optional(),
      slot: z.string().optional(),
      native: z.strictObject({ loaded: z.boolean(), memoryLocked: z.boolean().optional(), path: z.string().optional(), error: z.string().optional() }).optional(),
    })
    .optional(),
  capabilities: z.strictObject({ rpc: z.array(z.string()).optional(), metrics: z.array(z.string()).optional() }).optional(),
  cert: z.strictObject({ notAfter: z.string().optional() }).optional(),
  mqtt: z.strictObject({ broker: z.string().optional(), protocol: int.optional() }).optional(),
};

/** One health check; absent from `checks` when the device cannot tell (no sensor, no tool). */
const check = <S extends z.core.$ZodLooseShape>(extra: S) => z.strictObject({ status: checkStatus, text: z.string().max(300).optional(), ...extra });

export const healthBodyShape = {
  /** The worst status of the checks present. */
  overall: checkStatus,
  checks: z.strictObject({
    cardLink: check({ state: z.string() }).optional(),
    spans: check({ up: nonNegInt, total: nonNegInt }).optional(),
    sipTrunks: check({ up: nonNegInt, total: nonNegInt }).optional(),
    masking: check({ faults: nonNegInt }).optional(),
    disk: check({ freeBytes: nonNegInt, totalBytes: nonNegInt, freePct: z.number().min(0).max(100) }).optional(),
    temperature: check({ celsius: z.number(), zone: z.string() }).optional(),
    clockSync: check({ synchronized: z.boolean(), source: z.string() }).optional(),
    outbox: check({ depth: nonNegInt, maxRows: int.min(1), usedPct: z.number().min(0) }).optional(),
    native: check({ loaded: z.boolean() }).optional(),
    mqttCert: check({ daysLeft: int, notAfter: z.string() }).optional(),
  }),
};

const legMetrics = z.strictObject({
  callId: z.string(),
  leg: z.enum(['uplink', 'downlink']),
  rtpPackets: nonNegInt,
  rtpLost: nonNegInt,
  jitterMs: z.number().min(0),
});

export const metricsBodyShape = {
  intervalS: int.min(1),
  /** Monotonic since start; names listed in `info.capabilities.metrics`. */
  counters: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_.]{0,63}$/), nonNegInt),
  gauges: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_.]{0,63}$/), z.number()),
  legs: z.array(legMetrics).max(512).optional(),
};

export const spanAlarmSchema = z.enum(['LOS', 'LOF', 'AIS', 'RAI']);

export const spanBodyShape = {
  span: int.min(1),
  kind: z.enum(['E1', 'T1']).optional(),
  state: z.enum(['up', 'down', 'alarm', 'loopback', 'unknown']),
  alarms: z.array(spanAlarmSchema),
  dchannel: z.enum(['up', 'down']).optional(),
  /** Layer 1: frames arrive (no LOS/LOF/AIS). */
  layer1: z.enum(['up', 'down']).optional(),
  framing: z.enum(['crc4', 'no-crc4', 'esf', 'd4']).optional(),
  lineCoding: z.enum(['hdb3', 'b8zs', 'ami']).optional(),
  /** The card's answer to the span configuration. */
  configured: z.enum(['pending', 'accepted', 'refused', 'not-sent']).optional(),
  configError: z.string().max(300).optional(),
  channels: nonNegInt.optional(),
  channelsInUse: nonNegInt.optional(),
  channelsMaintenance: nonNegInt.optional(),
  /** Card counters (slips, CRC errors, …) since the link came up. */
  counters: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), nonNegInt).optional(),
};

export const portBodyShape = {
  port: int.min(1),
  kind: z.enum(['fxo', 'fxs']).optional(),
  state: z.enum(['idle', 'ringing', 'offhook', 'busy', 'down', 'unknown']),
  loopCurrent: z.boolean().optional(),
  inUse: z.boolean().optional(),
  counters: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), nonNegInt).optional(),
};

export const sipTrunkBodyShape = {
  trunk: z.string().min(1).max(128),
  registration: z.enum(['registered', 'registering', 'unregistered', 'failed', 'not-required']),
  reachable: z.boolean(),
  activeCalls: nonNegInt.optional(),
  optionsRttMs: z.number().min(0).optional(),
  lastError: z.string().max(300).optional(),
};

export const alarmBodyShape = {
  alarmId: z.string().min(1).max(128),
  severity: z.enum(['critical', 'major', 'minor', 'warning']),
  source: z.string(),
  raisedAt: epochMs,
  text: z.string(),
};

export const callBodyShape = {
  callId: z.string().min(1).max(128),
  state: z.enum(['setup', 'ringing', 'active', 'held', 'ending']),
  dir: z.enum(['in', 'out']),
  port: int.optional(),
  span: int.optional(),
  chan: int.optional(),
  trunk: z.string().optional(),
  startedAt: epochMs,
  payActive: z.boolean(),
};

export const payBodyShape = {
  sessionId: z.string().min(1).max(128),
  callId: z.string().min(1).max(128),
  state: z.string().min(1).max(64),
};

export const eventBodyShape = {
  id: z.string().min(1).max(64),
  type: z.string().regex(/^[a-z0-9_.-]{1,64}$/),
  createdTs: epochMs,
  data: z.record(z.string(), z.json()),
  historical: z.literal(true).optional(),
};

export const rpcReplyBodyShape = {
  reqId: z.string().max(128),
  status: z.enum(['ok', 'error', 'accepted']),
  data: z.record(z.string(), z.json()).optional(),
  error: z.strictObject({ code: z.string().min(1).max(64), message: z.string() }).optional(),
};

export const configReportedBodyShape = {
  /** The desired version this report is about (0: none applied yet). */
  version: nonNegInt,
  state: z.enum(['applied', 'rejected', 'pending_restart']),
  /** Every problem, each naming the key path and what was expected; never a secret's value. */
  errors: z.array(z.string()),
  /** When this version was applied (or refused), ms since epoch. */
  appliedAt: epochMs,
  /** Key paths that wait for a restart (state pending_restart). */
  restartKeys: z.array(z.string()).optional(),
};

/** The states of an update job (docs/mqtt/ota.md); the last five are terminal (AWS IoT Jobs' terminal set). */
export const OTA_STATES = ['queued', 'waiting_window', 'draining', 'downloading', 'verifying', 'installing', 'rebooting', 'health_gate', 'succeeded', 'rolled_back', 'failed', 'rejected', 'canceled'] as const;

export const otaStateBodyShape = {
  jobId: z.string().min(1).max(128),
  state: z.enum(OTA_STATES),
  /** Percent of the current step (download bytes; health-gate time); 100 when terminal. */
  progress: z.number().int().min(0).max(100),
  /** The version running when the job started. */
  from: z.string().max(64),
  /** The version the job installs. */
  to: z.string().max(64),
  /** The slot the job installs into (`a`, `b`). */
  slot: z.string().max(16),
  /** Why the job failed, was rejected or rolled back; never a secret. */
  error: z.string().max(400).optional(),
};

/** Inbound `config/desired` (retained): a partial configuration overlaid on the device's file config. */
export const configDesiredSchema = z.strictObject({
  version: int.min(1),
  config: z.record(z.string(), z.unknown()),
  actor: z.string().min(1).max(128).optional(),
  /** Fleet-key Ed25519 signature of config-sync.ts canonicalConfig(version, config), base64. */
  sig: z.string().max(256).optional(),
});
export type ConfigDesired = z.infer<typeof configDesiredSchema>;

/** The published message schemas by family (envelope + body). */
export const PUBLISHED_SCHEMAS = {
  status: z.strictObject({ ...envelopeShape, ...statusBodyShape }),
  info: z.strictObject({ ...envelopeShape, ...infoBodyShape }),
  health: z.strictObject({ ...envelopeShape, ...healthBodyShape }),
  metrics: z.strictObject({ ...envelopeShape, ...metricsBodyShape }),
  span: z.strictObject({ ...envelopeShape, ...spanBodyShape }),
  port: z.strictObject({ ...envelopeShape, ...portBodyShape }),
  'sip-trunk': z.strictObject({ ...envelopeShape, ...sipTrunkBodyShape }),
  alarm: z.strictObject({ ...envelopeShape, ...alarmBodyShape }),
  call: z.strictObject({ ...envelopeShape, ...callBodyShape }),
  pay: z.looseObject({ ...envelopeShape, ...payBodyShape }),
  event: z.strictObject({ ...envelopeShape, ...eventBodyShape }),
  'rpc-reply': z.strictObject({ ...envelopeShape, ...rpcReplyBodyShape }),
  'config-reported': z.strictObject({ ...envelopeShape, ...configReportedBodyShape }),
  'ota-state': z.strictObject({ ...envelopeShape, ...otaStateBodyShape }),
} as const;
export type PublishedFamily = keyof typeof PUBLISHED_SCHEMAS;

export type HealthBody = z.infer<z.ZodObject<typeof healthBodyShape>>;
export type HealthStatus = z.infer<typeof checkStatus>;
export type HealthChecks = HealthBody['checks'];
export type MetricsBody = z.infer<z.ZodObject<typeof metricsBodyShape>>;
export type LegMetrics = z.infer<typeof legMetrics>;
export type SpanAlarm = z.infer<typeof spanAlarmSchema>;
export type SpanStateBody = z.infer<z.ZodObject<typeof spanBodyShape>>;
export type PortStateBody = z.infer<z.ZodObject<typeof portBodyShape>>;
export type SipTrunkStateBody = z.infer<z.ZodObject<typeof sipTrunkBodyShape>>;
export type ConfigReportedBody = z.infer<z.ZodObject<typeof configReportedBodyShape>>;
export type OtaStateBody = z.infer<z.ZodObject<typeof otaStateBodyShape>>;
export type OtaState = (typeof OTA_STATES)[number];

/** The family of a relative topic (`spans/1` → `span`); undefined for a topic with no schema. */
export function familyOf(relativeTopic: string): PublishedFamily | undefined {
  const first = relativeTopic.split('/', 1)[0] ?? '';
  switch (first) {
    case 'status':
    case 'info':
    case 'health':
    case 'metrics':
      return relativeTopic === first ? first : undefined;
    case 'spans':
      return 'span';
    case 'ports':
      return 'port';
    case 'sip':
      return 'sip-trunk';
    case 'alarms':
      return 'alarm';
    case 'calls':
      return 'call';
    case 'pay':
      return 'pay';
    case 'events':
      return 'event';
    case 'rpc':
      return relativeTopic.startsWith('rpc/res/') ? 'rpc-reply' : undefined;
    case 'config':
      return relativeTopic === 'config/reported' ? 'config-reported' : undefined;
    case 'ota':
      return relativeTopic === 'ota/state' ? 'ota-state' : undefined;
    default:
      return undefined;
  }
}

/** zod issues as one line, `path: message; …`, never the offending value (it could be anything). */
export function issuesLine(error: z.ZodError, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Checks an outgoing payload (envelope included) against its topic's schema. Returns undefined when
 * it matches, else a one-line description of every problem (paths and expectations, no values).
 */
export function checkPayload(relativeTopic: string, payload: object): string | undefined {
  const family = familyOf(relativeTopic);
  if (family === undefined) return `topic "${relativeTopic}" has no payload schema`;
  const r = PUBLISHED_SCHEMAS[family].safeParse(payload);
  return r.success ? undefined : `${family} payload does not match its schema: ${issuesLine(r.error)}`;
}
