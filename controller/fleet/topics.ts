/**
 * The device's MQTT topic tree (DESIGN.md §6, mqtt-fleet.md §7.2) as types keyed by topic, so a
 * publish of the wrong shape to a topic is a compile error (STYLE.md: one module of types keyed by
 * topic). Topics here are relative to `${topicRoot}/${deviceId}/`.
 *
 * Every payload is `Envelope & Body` (envelope.ts). The zod schemas of payload-schemas.ts are the
 * source of the newer bodies (health, metrics, spans, ports, sip, config/reported); the older
 * interfaces below are checked against their schemas at compile time (bottom of this file).
 */
import type { z } from 'zod';
import { TonewallError } from '../../hw/base/errors';
import type { JsonObject } from '../store/json';
import type { alarmBodyShape, callBodyShape, infoBodyShape, ConfigReportedBody, OtaStateBody, HealthBody, MetricsBody, PortStateBody, SipTrunkStateBody, SpanStateBody, statusBodyShape } from './payload-schemas';
import type { RpcReplyBody } from './rpc/types';

export type { ConfigReportedBody, OtaStateBody, HealthBody, HealthChecks, HealthStatus, LegMetrics, MetricsBody, PortStateBody, SipTrunkStateBody, SpanAlarm, SpanStateBody } from './payload-schemas';

export type StatusState = 'online' | 'offline';
/** startup: first connect of this process; reconnect: any later one; lwt: the last will. */
export type StatusReason = 'startup' | 'reconnect' | 'shutdown' | 'restart' | 'lwt';

/** `status` (QoS 1, retained; also the last will). */
export interface StatusBody {
  state: StatusState;
  reason: StatusReason;
  /** Firmware version and active A/B slot. */
  fw: string;
  slot: string;
}

/** `info` (QoS 1, retained): birth record on every connect, after `status` online. No secrets. */
export interface InfoBody {
  site?: string;
  hw?: { model?: string; serial?: string; card?: { model?: string; fw?: string; spans?: number; ports?: number } };
  /** `native`: the appliance's native addon (systemd notify, mlock, wipe) loaded, or the JS fallback and why. */
  sw?: { tonewall?: string; node?: string; os?: string; slot?: string; native?: { loaded: boolean; memoryLocked?: boolean; path?: string; error?: string } };
  capabilities?: { rpc?: string[]; metrics?: string[] };
  cert?: { notAfter?: string };
  mqtt?: { broker?: string; protocol?: number };
}

export type CallSnapshotState = 'setup' | 'ringing' | 'active' | 'held' | 'ending';

/** `calls/{callId}` (QoS 1, retained with message expiry; an empty retained payload clears it). */
export interface CallSnapshotBody {
  callId: string;
  state: CallSnapshotState;
  dir: 'in' | 'out';
  port?: number;
  span?: number;
  chan?: number;
  trunk?: string;
  /** ms since epoch. */
  startedAt: number;
  payActive: boolean;
}

/** `events/{type}` (QoS 1, not retained, from the outbox). */
export interface EventBody {
  /** UUIDv7: consumers dedupe by it (delivery is at-least-once). */
  id: string;
  /** e.g. `call`, `call.ended`. */
  type: string;
  /** When the event was committed (ms since epoch); `ts` is when it was published. */
  createdTs: number;
  data: JsonObject;
  /** Present (true) when published on a later connection than the one it was created in. */
  historical?: true;
}

/**
 * `pay/{sessionId}` (QoS 1, retained with message expiry; an empty retained payload clears it): the
 * payment session's masked state — per-field counts and validity, brand, last four, result. Never
 * digits (the publish guard refuses card-like runs and keys).
 */
export type PaySnapshotBody = JsonObject & { sessionId: string; callId: string; state: string };

/** `alarms/{alarmId}` (QoS 1, retained while active; an empty retained payload clears it). */
export interface AlarmBody {
  alarmId: string;
  severity: 'critical' | 'major' | 'minor' | 'warning';
  source: string;
  /** ms since epoch. */
  raisedAt: number;
  text: string;
}

/** Payload bodies keyed by relative topic. */
export interface DeviceTopics {
  status: StatusBody;
  info: InfoBody;
  [callTopic: `calls/${string}`]: CallSnapshotBody;
  [payTopic: `pay/${string}`]: PaySnapshotBody;
  [alarmTopic: `alarms/${string}`]: AlarmBody;
  [eventTopic: `events/${string}`]: EventBody;
  /** Retained overall health and checks. */
  health: HealthBody;
  /** QoS 0, message expiry 2× the interval. */
  metrics: MetricsBody;
  [spanTopic: `spans/${string}`]: SpanStateBody;
  [portTopic: `ports/${string}`]: PortStateBody;
  [sipTopic: `sip/${string}`]: SipTrunkStateBody;
  'config/reported': ConfigReportedBody;
  /** The update job's state (retained; docs/mqtt/ota.md). */
  'ota/state': OtaStateBody;
  /** Command replies (QoS 1, not retained, message expiry; docs/mqtt/rpc.md). */
  [rpcResTopic: `rpc/res/${string}`]: RpcReplyBody;
}
export type DeviceTopic = keyof DeviceTopics;

export interface TopicPolicy {
  qos: 0 | 1;
  retain: boolean;
  /** Schema name for the `schema` user property (`status@1`). */
  schema: string;
}

/** QoS / retain per topic family (DESIGN.md §6 table). */
export function topicPolicy(topic: DeviceTopic): TopicPolicy {
  if (topic === 'status') return { qos: 1, retain: true, schema: 'status@1' };
  if (topic === 'info') return { qos: 1, retain: true, schema: 'info@1' };
  if (topic.startsWith('calls/')) return { qos: 1, retain: true, schema: 'call@1' };
  if (topic.startsWith('pay/')) return { qos: 1, retain: true, schema: 'pay@1' };
  if (topic.startsWith('alarms/')) return { qos: 1, retain: true, schema: 'alarm@1' };
  if (topic.startsWith('rpc/res/')) return { qos: 1, retain: false, schema: 'rpc-reply@1' };
  if (topic === 'health') return { qos: 1, retain: true, schema: 'health@1' };
  if (topic === 'metrics') return { qos: 0, retain: false, schema: 'metrics@1' };
  if (topic.startsWith('spans/')) return { qos: 1, retain: true, schema: 'span@1' };
  if (topic.startsWith('ports/')) return { qos: 1, retain: true, schema: 'port@1' };
  if (topic.startsWith('sip/')) return { qos: 1, retain: true, schema: 'sip-trunk@1' };
  if (topic === 'config/reported') return { qos: 1, retain: true, schema: 'config-reported@1' };
  if (topic === 'ota/state') return { qos: 1, retain: true, schema: 'ota-state@1' };
  return { qos: 1, retain: false, schema: 'event@1' };
}

const LEVEL = /^[A-Za-z0-9_.-]{1,128}$/;

/** A topic level from an id: refuses wildcards, separators and empty levels (names the value). */
export function topicLevel(what: string, value: string): string {
  if (!LEVEL.test(value)) {
    throw new TonewallError('EFLEET_TOPIC', `${what} "${value.slice(0, 128)}" is not a topic level of 1-128 characters [A-Za-z0-9_.-]`);
  }
  return value;
}

export function callTopic(callId: string): `calls/${string}` {
  return `calls/${topicLevel('call id', callId)}`;
}

export function payTopic(sessionId: string): `pay/${string}` {
  return `pay/${topicLevel('payment session id', sessionId)}`;
}

export function alarmTopic(alarmId: string): `alarms/${string}` {
  return `alarms/${topicLevel('alarm id', alarmId)}`;
}

export function spanTopic(span: number): `spans/${string}` {
  if (!Number.isInteger(span) || span < 1 || span > 64) throw new TonewallError('EFLEET_TOPIC', `span ${span} is not an integer 1-64`);
  return `spans/${span}`;
}

export function portTopic(port: number): `ports/${string}` {
  if (!Number.isInteger(port) || port < 1 || port > 999) throw new TonewallError('EFLEET_TOPIC', `port ${port} is not an integer 1-999`);
  return `ports/${port}`;
}

export function sipTrunkTopic(trunk: string): `sip/${string}` {
  return `sip/${topicLevel('sip trunk name', trunk)}`;
}

export function eventTopic(type: string): `events/${string}` {
  return `events/${topicLevel('event type', type)}`;
}

/** `${root}/${deviceId}/${relative}`; root and device id are checked once here. */
export function absoluteTopic(root: string, deviceId: string, relative: string): string {
  if (!/^[a-z0-9_-]+(\/[a-z0-9_-]+)*$/.test(root)) {
    throw new TonewallError('EFLEET_TOPIC', `topic root "${root}" is not levels of [a-z0-9_-] separated by "/"`);
  }
  topicLevel('device id', deviceId);
  return `${root}/${deviceId}/${relative}`;
}

// Compile-time: the hand-written bodies above and their schemas (payload-schemas.ts) agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const bodiesMatchSchemas: [
  Same<StatusBody, z.infer<z.ZodObject<typeof statusBodyShape>>>,
  Same<AlarmBody, z.infer<z.ZodObject<typeof alarmBodyShape>>>,
  Same<Omit<CallSnapshotBody, never>, z.infer<z.ZodObject<typeof callBodyShape>>>,
  Same<InfoBody, z.infer<z.ZodObject<typeof infoBodyShape>>>,
] = [true, true, true, true];
void bodiesMatchSchemas;
