/**
 * The FleetReporter's options, counters (reaching MQTT as `fleet.*` metrics) and events
 * (reporter.ts).
 */
import type { IPublishPacket } from 'mqtt';
import type { Clock } from '../../hw/base/clock';
import type { Logger } from '../../hw/base/logger';
import type { DeviceConfig, MqttConfig } from '../config/schema';
import type { Store } from '../store/store';
import type { MqttProtocolVersion } from './connect-options';
import type { MqttConnectFn } from './connection';
import type { InfoBody } from './topics';

export interface FleetReporterOptions {
  mqtt: MqttConfig;
  device: DeviceConfig;
  store: Store;
  log: Logger;
  clock?: Clock;
  /** The birth record, read at every connect. */
  info: () => InfoBody;
  /** MQTT.js factory (tests inject; default mqtt.connect). */
  connect?: MqttConnectFn;
  /** Overrides mqtt.url (e.g. the embedded broker's address). */
  url?: string;
  /** 5 by default; 4 for a 3.1.1-only broker (the embedded aedes). */
  protocolVersion?: MqttProtocolVersion;
  firmware?: { version: string; slot: string };
  /** Outbox events in flight at once (default 8). */
  eventWindow?: number;
  /** Backstop poll of the outbox (default 1000 ms). */
  pollMs?: number;
  /** Acked outbox rows are pruned after this long (default 24 h). */
  ackedRetentionMs?: number;
  random?: () => number;
}

export interface FleetMetrics {
  connected: boolean;
  conn: number;
  connectAttempts: number;
  sessions: number;
  connectFailures: number;
  published: number;
  publishErrors: number;
  guardRefused: number;
  /** Payloads refused because they did not match their topic's schema. */
  schemaRefused: number;
  eventsPublished: number;
  eventsHistorical: number;
  eventsFailed: number;
  eventsRefused: number;
  outboxDepth: number;
  outboxNearFull: boolean;
  /** Times an older connection's late will was overwritten by republishing online. */
  lateWillsHealed: number;
  /** Acknowledged events whose deletion is not committed yet (batched acks). */
  acksPending: number;
}

export interface FleetReporterEvents {
  connected: [{ conn: number; sessionPresent: boolean }];
  disconnected: [{ conn: number; reason: string }];
  'event-acked': [{ seq: number; id: string; historical: boolean }];
  message: [topic: string, payload: Buffer, packet: IPublishPacket];
  /** The broker granted the `rpc/req/+` subscription of this session. */
  'rpc-subscribed': [{ filter: string; conn: number }];
  /** The broker granted an inbound subscription (`config/desired`, `_fleet/rebirth`, `rpc/req/+`). */
  subscribed: [{ filter: string; conn: number }];
  /** A rebirth (on request or by `_fleet/rebirth`) republished everything. */
  reborn: [{ trigger: 'fleet' | 'command' }];
}
