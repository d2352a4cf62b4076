/**
 * FleetReporter: the device's voice on MQTT (DESIGN.md §6).
 *
 * On every CONNECT: the persisted counter `mqtt.conn` is incremented and the last will built with
 * it (status offline/lwt, retained, QoS 1, will delay). On every CONNACK, in this order: the
 * inbound subscriptions, `status` online (retained), `info` (retained), the clears made offline,
 * all retained state, then the outbox events in seq order. `stop()` publishes `status`
 * offline/shutdown, then a normal DISCONNECT (no will).
 *
 * Every message goes through the single publish path (publish-path.ts): envelope, publish guard,
 * schema check (a mismatch is refused with EFLEET_SCHEMA, logged and counted), MQTT 5 properties.
 *
 * Retained state (calls, pay, alarms, health, spans, ports, sip, config/reported) is one mechanism
 * (`setRetained`): kept in memory, republished on every connect and on rebirth; a clear made while
 * offline goes out on the next connect. `_fleet/rebirth` (with `enableRebirth`) republishes it
 * after a random jitter; `config/desired` (with `attachConfigDesired`) is handed to its handler.
 *
 * Commands (rpc/): with a handler attached (`attachRpc`), every CONNACK subscribes QoS 1 to
 * `rpc/req/+` (also when the session is resumed: a session from before the handler had none) and
 * each request is handed over with its MQTT 5 response topic and correlation data; replies go out
 * through `publishRpcReply` (same single publish path).
 *
 * Late-will self-heal: the device subscribes to its own `status`; an `offline` of an older `conn`
 * arriving after this connection's own `online` came back (a delayed will that landed after it) is
 * answered by republishing `online`, so the retained status a later consumer reads is right.
 *
 * Consumers' rule (docs/mqtt/topics.md): ignore an `offline` whose `conn` is lower than that of the
 * last `online` seen; dedupe events by `id`.
 */
import type { MqttClient, IPublishPacket } from 'mqtt';
import mqtt from 'mqtt';
import { type Clock, type TimerHandle, systemClock } from '../../hw/base/clock';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { OutboxEvent } from '../store/outbox';
import { buildConnectOptions, type MqttProtocolVersion } from './connect-options';
import { MqttConnection } from './connection';
import { EnvelopeSource } from './envelope';
import { OutboxPump } from './outbox-pump';
import { InboundRoutes, type InboundRoute } from './inbound-routes';
import { PublishPath, type PublishExtra } from './publish-path';
import { RetainedState, type RetainedTopic, ownStatusKind } from './retained-state';
import type { RpcInbound, RpcReplyBody } from './rpc/types';
import {
  type AlarmBody, type CallSnapshotBody, type ConfigReportedBody, type OtaStateBody, type DeviceTopic, type DeviceTopics, type HealthBody, type MetricsBody, type PaySnapshotBody,
  type PortStateBody, type SipTrunkStateBody, type SpanStateBody, type StatusBody, type StatusReason,
  absoluteTopic, alarmTopic, callTopic, payTopic, portTopic, sipTrunkTopic, spanTopic,
} from './topics';

export const CONN_COUNTER_KEY = 'mqtt.conn';
/** Acked outbox rows are pruned at most this often (each prune is a durable write). */
const PRUNE_INTERVAL_MS = 60_000;

import type { FleetMetrics, FleetReporterEvents, FleetReporterOptions } from './reporter-types';

export type { FleetMetrics, FleetReporterEvents, FleetReporterOptions };

export class FleetReporter extends TypedEmitter<FleetReporterEvents> {
  readonly boot: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly env: EnvelopeSource;
  private readonly path: PublishPath;
  private readonly connection: MqttConnection;
  private readonly pump: OutboxPump;
  private readonly protocolVersion: MqttProtocolVersion;
  private readonly retained: RetainedState;
  private pollTimer: TimerHandle | undefined;
  private lastPruneMs = Number.NEGATIVE_INFINITY;
  private sessions = 0;
  private sessionReason: StatusReason = 'startup';
  private rpcHandler: ((req: RpcInbound) => void) | undefined;
  private readonly routes: InboundRoutes;
  private rebirthTimer: TimerHandle | undefined;
  private rebirthJitterMaxMs = 0;
  /** Message expiry of call and payment snapshots (s); live from config/desired. */
  private snapshotExpiry: { callS: number; payS: number };
  /** Late wills of older connections answered with a fresh `online` (self-heal); logged once per conn. */
  private staleWillsHealed = 0;
  private healLoggedConn = 0;
  /** The conn whose own `online` came back on the `status` subscription (ownStatusKind). */
  private onlineEchoConn = 0;

  constructor(private readonly opts: FleetReporterOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log.child('fleet');
    this.env = new EnvelopeSource(opts.device.id, this.clock);
    this.boot = this.env.boot;
    this.protocolVersion = opts.protocolVersion ?? 5;
    this.snapshotExpiry = { callS: opts.mqtt.callSnapshotExpiryS, payS: opts.mqtt.paySnapshotExpiryS };
    this.routes = new InboundRoutes(this.log, (filter) => this.emit('subscribed', { filter, conn: this.env.conn }));
    this.path = new PublishPath(this.env, (rel) => this.topic(rel), this.protocolVersion, this.log);
    this.retained = new RetainedState({ publish: (client, rel, body, expiryS) => this.publish(client, rel, body, expiryS !== undefined ? { messageExpiryS: expiryS } : {}), publishEmpty: (client, rel) => this.publishEmpty(client, rel) }, this.log);
    absoluteTopic(opts.mqtt.topicRoot, opts.device.id, 'status'); // validates root and id now
    this.pump = new OutboxPump({
      store: opts.store,
      log: this.log,
      clock: this.clock,
      window: Math.max(1, opts.eventWindow ?? 8),
      publish: (ev, historical) => this.publishEvent(ev, historical),
      onAcked: (ev, historical) => this.emit('event-acked', { seq: ev.seq, id: ev.id, historical }),
    });
    this.connection = new MqttConnection({
      url: opts.url ?? opts.mqtt.url,
      log: this.log,
      clock: this.clock,
      connect: opts.connect ?? ((url, o) => mqtt.connect(url, o)),
      reconnectMinMs: opts.mqtt.reconnectMinMs,
      reconnectMaxMs: Math.max(opts.mqtt.reconnectMinMs, opts.mqtt.reconnectMaxMs),
      random: opts.random,
      prepare: () => this.prepareConnect(),
    });
    this.addRoute(this.statusSelfHealRoute());
    this.connection.on('connected', ({ client, conn, sessionPresent }) => this.onConnected(client, conn, sessionPresent));
    this.connection.on('disconnected', (d) => {
      this.pump.onDisconnected();
      this.emit('disconnected', d);
    });
    this.connection.on('message', (topic, payload, packet) => {
      this.routes.deliver(topic, payload, packet);
      this.emit('message', topic, payload, packet);
    });
  }

  /**
   * Late-will self-heal: the device follows its own `status`; when an older connection's will
   * (offline, lower conn) lands after this connection's `online` came back, it stands as the
   * retained status for every consumer that joins later, so `online` is republished at once.
   */
  private statusSelfHealRoute(): InboundRoute {
    const filter = this.topic('status');
    return {
      filter,
      matches: (t) => t === filter,
      deliver: (_t, payload, packet) => {
        const client = this.connection.activeClient;
        const seen = client ? ownStatusKind(payload, packet.retain, this.env.conn) : undefined;
        if (!client || !seen) return;
        if (seen.kind === 'online-echo') {
          this.onlineEchoConn = this.env.conn;
          return;
        }
        if (this.onlineEchoConn !== this.env.conn) return;
        this.staleWillsHealed++;
        if (this.healLoggedConn !== this.env.conn) {
          this.healLoggedConn = this.env.conn;
          this.log.warn('late will of an older connection became the retained status; republishing online', { staleConn: seen.conn, conn: this.env.conn });
        }
        this.publish(client, 'status', this.statusBody('online', this.sessionReason)).catch((err: unknown) => this.log.warn('republishing status failed', { err: errorMessage(err) }));
      },
    };
  }

  /** Late wills of older connections overwritten with `online` since start. */
  get lateWillsHealed(): number {
    return this.staleWillsHealed;
  }

  private addRoute(route: InboundRoute): void {
    this.routes.add(route, this.connection.activeClient);
  }

  /**
   * Hands every `rpc/req/{method}` request to `handler` (attach before start(); one handler).
   * The subscription is made on every CONNACK.
   */
  attachRpc(handler: (req: RpcInbound) => void): void {
    if (this.rpcHandler) throw new TonewallError('EFLEET_RPC', 'an rpc handler is already attached');
    this.rpcHandler = handler;
    const prefix = this.topic('rpc/req/');
    this.addRoute({
      filter: this.topic('rpc/req/+'),
      matches: (t) => t.startsWith(prefix),
      deliver: (t, payload, packet) => this.deliverRpc(t, payload, packet),
      onSubscribed: () => this.emit('rpc-subscribed', { filter: this.topic('rpc/req/+'), conn: this.env.conn }),
    });
  }

  /**
   * Hands every (retained) `config/desired` payload to `handler` (config-sync.ts decides). An empty
   * payload (the retained message cleared) is not handed over.
   */
  attachConfigDesired(handler: (payload: Buffer) => void): void {
    const filter = this.topic('config/desired');
    this.addRoute({ filter, matches: (t) => t === filter, deliver: (_t, payload) => payload.length > 0 && handler(payload) });
  }

  /**
   * Subscribes `${topicRoot}/_fleet/rebirth`: any message there republishes all retained state
   * after a random delay in [0, jitterMaxMs) (a fleet of devices must not answer at once). Several
   * requests within one delay make one rebirth. A retained request (left on the broker by mistake)
   * is ignored: it would otherwise trigger a rebirth on every connect.
   */
  enableRebirth(jitterMaxMs: number): void {
    this.rebirthJitterMaxMs = jitterMaxMs;
    const filter = `${this.opts.mqtt.topicRoot}/_fleet/rebirth`;
    const random = this.opts.random ?? Math.random;
    this.addRoute({
      filter,
      matches: (t) => t === filter,
      deliver: (_t, _payload, packet) => {
        if (packet.retain || this.rebirthTimer) return;
        this.rebirthTimer = this.clock.setTimeout(() => {
          this.rebirthTimer = undefined;
          this.republish('fleet').catch((err: unknown) => this.log.warn('fleet rebirth failed', { err: errorMessage(err) }));
        }, Math.floor(random() * Math.max(0, this.rebirthJitterMaxMs)));
      },
    });
  }

  /** `${root}/${dev}/rpc/res/`: replies may only go under it. */
  get rpcResponsePrefix(): string {
    return this.topic('rpc/res/');
  }

  /**
   * Publishes a command reply (QoS 1, not retained, message expiry `expiryS`, the request's
   * correlation data) to `responseTopic`, which must be under rpcResponsePrefix. Resolves on PUBACK;
   * rejects EFLEET_OFFLINE when not connected, EFLEET_RPC for a topic outside the prefix.
   */
  async publishRpcReply(responseTopic: string, body: RpcReplyBody, correlationData: Buffer | undefined, expiryS: number): Promise<void> {
    const prefix = this.rpcResponsePrefix;
    if (!responseTopic.startsWith(prefix) || responseTopic.length === prefix.length) {
      throw new TonewallError('EFLEET_RPC', `reply topic is not under ${prefix}`);
    }
    const client = this.connection.activeClient;
    if (!client) throw new TonewallError('EFLEET_OFFLINE', `reply to request "${body.reqId}" not sent: not connected`);
    const rel = `rpc/res/${responseTopic.slice(prefix.length)}` as const;
    await this.publish(client, rel, body, { messageExpiryS: expiryS, correlationData });
  }

  /** Live settings from config/desired: snapshot expiries (s) and the rebirth jitter bound (ms). */
  setLiveSettings(s: { callSnapshotExpiryS: number; paySnapshotExpiryS: number; rebirthJitterMaxMs: number }): void {
    this.snapshotExpiry = { callS: s.callSnapshotExpiryS, payS: s.paySnapshotExpiryS };
    this.rebirthJitterMaxMs = s.rebirthJitterMaxMs;
  }

  /** Republishes status online, info and all retained state (rpc `rebirth`; `_fleet/rebirth` after its jitter). */
  async rebirth(): Promise<void> {
    await this.republish('command');
  }

  private async republish(trigger: 'fleet' | 'command'): Promise<void> {
    const client = this.connection.activeClient;
    if (!client) throw new TonewallError('EFLEET_OFFLINE', 'rebirth: not connected');
    await this.publish(client, 'status', this.statusBody('online', this.sessionReason));
    await this.publish(client, 'info', this.opts.info());
    for (const [rel, r] of this.retained.list()) await this.publish(client, rel, r.body, r.expiryS !== undefined ? { messageExpiryS: r.expiryS } : {});
    this.emit('reborn', { trigger });
  }

  /** Absolute topic for a relative one under this device. */
  topic(relative: string): string {
    return absoluteTopic(this.opts.mqtt.topicRoot, this.opts.device.id, relative);
  }

  get connected(): boolean {
    return this.connection.state === 'connected';
  }

  /** The CONNECT counter of the current (or last) connection. */
  get conn(): number {
    return this.env.conn;
  }

  start(): void {
    this.connection.start();
    this.pollTimer = this.clock.setInterval(() => this.poll(), this.opts.pollMs ?? 1000);
  }

  /** Publishes status offline (reason, default shutdown), then disconnects cleanly. */
  async stop(reason: 'shutdown' | 'restart' = 'shutdown'): Promise<void> {
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    this.rebirthTimer?.cancel();
    this.rebirthTimer = undefined;
    this.pump.onDisconnected();
    await this.connection.stop(async (client) => {
      await this.publish(client, 'status', this.statusBody('offline', reason));
    });
  }

  /** Call after committing new outbox events: sends them now instead of at the next poll. */
  kick(): void {
    this.pump.kick();
  }

  /**
   * Sets (or with null clears) the retained live snapshot of a call. Kept in memory and
   * republished on every connect; a clear made while offline is sent on the next connect.
   */
  setCallSnapshot(callId: string, snapshot: CallSnapshotBody | null): void {
    if (snapshot !== null && snapshot.callId !== callId) {
      throw new TonewallError('EFLEET_SNAPSHOT', `call snapshot for "${callId}" carries callId "${snapshot.callId}"`);
    }
    this.setRetained(callTopic(callId), snapshot, this.snapshotExpiry.callS);
  }

  /** Sets (or with null clears) the retained masked state of a payment session, `pay/{sessionId}`. */
  setPaySnapshot(sessionId: string, snapshot: PaySnapshotBody | null): void {
    if (snapshot !== null && snapshot.sessionId !== sessionId) {
      throw new TonewallError('EFLEET_SNAPSHOT', `payment snapshot for "${sessionId}" carries sessionId "${snapshot.sessionId}"`);
    }
    this.setRetained(payTopic(sessionId), snapshot, this.snapshotExpiry.payS);
  }

  /** Raises (retained while active) or with null clears an alarm, `alarms/{alarmId}`. */
  setAlarm(alarmId: string, alarm: AlarmBody | null): void {
    if (alarm !== null && alarm.alarmId !== alarmId) {
      throw new TonewallError('EFLEET_SNAPSHOT', `alarm "${alarmId}" carries alarmId "${alarm.alarmId}"`);
    }
    this.setRetained(alarmTopic(alarmId), alarm, undefined);
  }

  /** Sets the retained `health` (health.ts publishes it on change, debounced, and periodically). */
  setHealth(body: HealthBody): void {
    this.setRetained('health', body, undefined);
  }

  /** Sets (or with null clears) the retained state of PRI/CAS span `n`, `spans/{n}`. */
  setSpanState(n: number, body: SpanStateBody | null): void {
    if (body !== null && body.span !== n) throw new TonewallError('EFLEET_SNAPSHOT', `span state for ${n} carries span ${body.span}`);
    this.setRetained(spanTopic(n), body, undefined);
  }

  /** Sets (or with null clears) the retained state of analog port `n`, `ports/{n}`. */
  setPortState(n: number, body: PortStateBody | null): void {
    if (body !== null && body.port !== n) throw new TonewallError('EFLEET_SNAPSHOT', `port state for ${n} carries port ${body.port}`);
    this.setRetained(portTopic(n), body, undefined);
  }

  /** Sets (or with null clears) the retained state of SIP trunk `name`, `sip/{name}`. */
  setSipTrunkState(name: string, body: SipTrunkStateBody | null): void {
    if (body !== null && body.trunk !== name) throw new TonewallError('EFLEET_SNAPSHOT', `sip trunk state for "${name}" carries trunk "${body.trunk}"`);
    this.setRetained(sipTrunkTopic(name), body, undefined);
  }

  /** Sets the retained `config/reported` (config-sync.ts). */
  setConfigReported(body: ConfigReportedBody): void {
    this.setRetained('config/reported', body, undefined);
  }

  /** Sets the retained `ota/state` (ota/ota-service.ts). */
  setOtaState(body: OtaStateBody): void {
    this.setRetained('ota/state', body, undefined);
  }

  /**
   * Hands every (retained) `ota/job` payload to `handler`, the empty one (a cleared retained job:
   * cancel) included.
   */
  attachOtaJob(handler: (payload: Buffer) => void): void {
    const filter = this.topic('ota/job');
    this.addRoute({ filter, matches: (t) => t === filter, deliver: (_t, payload) => handler(payload) });
  }

  /** The retained body of `rel` as last set (undefined when none or cleared). */
  retainedBody<T extends RetainedTopic>(rel: T): DeviceTopics[T] | undefined {
    return this.retained.get(rel)?.body as DeviceTopics[T] | undefined;
  }

  /**
   * Publishes one `metrics` sample: QoS 0, not retained, message expiry `expiryS` (2× the interval,
   * so a stale sample never reaches a late subscriber). Dropped while offline (returns false).
   */
  publishMetrics(body: MetricsBody, expiryS: number): boolean {
    const client = this.connection.activeClient;
    if (!client) return false;
    this.publish(client, 'metrics', body, { messageExpiryS: expiryS }).catch((err: unknown) => this.log.warn('publishing metrics failed', { err: errorMessage(err) }));
    return true;
  }

  /** The one mechanism behind all retained state (retained-state.ts). */
  private setRetained<T extends RetainedTopic>(rel: T, body: DeviceTopics[T] | null, expiryS: number | undefined): void {
    this.retained.set(rel, body, expiryS, this.connection.activeClient);
  }

  /** Republishes `info` (after a change). No-op while offline: it goes out on the next connect. */
  async publishInfo(): Promise<void> {
    const client = this.connection.activeClient;
    if (client) await this.publish(client, 'info', this.opts.info());
  }

  get metrics(): FleetMetrics {
    const c = this.connection.counters;
    return {
      connected: this.connected,
      conn: this.env.conn,
      connectAttempts: c.attempts,
      sessions: this.sessions,
      connectFailures: c.failures,
      published: this.path.published,
      publishErrors: this.path.publishErrors,
      guardRefused: this.path.guard.refused,
      schemaRefused: this.path.schemaRefused,
      eventsPublished: this.pump.counters.published,
      eventsHistorical: this.pump.counters.historical,
      eventsFailed: this.pump.counters.failed,
      eventsRefused: this.pump.counters.refused,
      outboxDepth: this.opts.store.outbox.depth(),
      outboxNearFull: this.opts.store.outbox.nearFull,
      lateWillsHealed: this.lateWillsHealed,
      acksPending: this.pump.acksPending,
    };
  }

  private prepareConnect(): { conn: number; options: ReturnType<typeof buildConnectOptions> } {
    const conn = this.opts.store.deviceState.increment(CONN_COUNTER_KEY);
    this.env.conn = conn;
    const will = this.env.wrap(this.statusBody('offline', 'lwt'), conn);
    const topic = this.topic('status');
    this.path.guard.check(topic, will);
    return {
      conn,
      options: buildConnectOptions({ mqtt: this.opts.mqtt, clientId: this.opts.device.id, will: { topic, payload: JSON.stringify(will) }, protocolVersion: this.protocolVersion }),
    };
  }

  private onConnected(client: MqttClient, conn: number, sessionPresent: boolean): void {
    this.sessions++;
    const reason = this.sessions === 1 ? 'startup' : 'reconnect';
    this.sessionReason = reason;
    this.routes.subscribeAll(client);
    const fail = (what: string) => (err: unknown) => this.log.warn(`publishing ${what} failed`, { err: errorMessage(err) });
    // Written to the socket in this order: status, info, snapshots, then events.
    this.publish(client, 'status', this.statusBody('online', reason)).catch(fail('status'));
    try {
      this.publish(client, 'info', this.opts.info()).catch(fail('info'));
    } catch (err) {
      fail('info')(err);
    }
    this.retained.onConnected(client);
    this.emit('connected', { conn, sessionPresent });
    this.pump.onConnected();
  }

  private publishEvent(ev: OutboxEvent, historical: boolean): Promise<void> {
    const client = this.connection.activeClient;
    if (!client) return Promise.reject(new TonewallError('EFLEET_OFFLINE', `event seq ${ev.seq} not sent: not connected`));
    const body = { id: ev.id, type: ev.type, createdTs: ev.createdMs, data: ev.data, ...(historical ? { historical: true as const } : {}) };
    return this.publish(client, ev.topic as `events/${string}`, body);
  }

  private deliverRpc(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const prefix = this.topic('rpc/req/');
    if (!this.rpcHandler || !topic.startsWith(prefix)) return;
    const method = topic.slice(prefix.length);
    if (method === '' || method.includes('/')) return;
    const props = packet.properties;
    const cd = props?.correlationData;
    this.rpcHandler({ method, payload, responseTopic: props?.responseTopic, correlationData: cd === undefined ? undefined : Buffer.from(cd) });
  }

  private statusBody(state: 'online' | 'offline', reason: StatusBody['reason']): StatusBody {
    return { state, reason, fw: this.opts.firmware?.version ?? '0.0.0', slot: this.opts.firmware?.slot ?? 'A' };
  }

  /** The single publish path (publish-path.ts). */
  private publish<T extends DeviceTopic>(client: MqttClient, rel: T, body: DeviceTopics[T], extra: PublishExtra = {}): Promise<void> {
    return this.path.publish(client, rel, body, extra);
  }

  private publishEmpty(client: MqttClient, rel: DeviceTopic): Promise<void> {
    return this.path.publishEmpty(client, rel);
  }

  private poll(): void {
    this.pump.poll();
    const now = this.clock.monotonicMs();
    if (now - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = now;
    try {
      const pruned = this.opts.store.outbox.prune(this.opts.ackedRetentionMs ?? 24 * 3600 * 1000);
      if (pruned > 0) this.log.debug('pruned acknowledged outbox events', { pruned });
    } catch (err) {
      this.log.warn('outbox prune failed', { err: errorMessage(err) });
    }
  }
}
