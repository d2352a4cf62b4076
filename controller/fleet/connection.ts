/**
 * The broker connection with our own reconnect loop (DESIGN.md §6).
 *
 *            start                  CONNACK
 *   idle ───────────▶ connecting ───────────▶ connected
 *                       ▲   │ fail/close           │ close
 *              timer    │   ▼                      ▼
 *                     backoff ◀────────────────────┘
 *   connecting | connected | backoff ──stop──▶ stopping ──closed──▶ stopped
 *
 * Every attempt calls `prepare()` first (which bumps the persisted CONNECT counter and builds the
 * will for it), creates a fresh client through the injected factory with manualConnect, attaches
 * every handler, then connects: a message queued in a resumed session cannot arrive unheard.
 * A fresh client per attempt also drops MQTT.js's in-memory queue: the SQLite outbox is the queue.
 */
import type { IClientOptions, MqttClient, IConnackPacket, IPublishPacket } from 'mqtt';
import type { Clock, TimerHandle } from '../../hw/base/clock';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { TypedEmitter } from '../../hw/base/typed-emitter';
import { backoffDelayMs } from './backoff';

export type MqttConnectFn = (url: string, opts: IClientOptions) => MqttClient;

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopping' | 'stopped';
type ConnectionInput = 'start' | 'connack' | 'lost' | 'timer' | 'stop' | 'closed';

const TRANSITIONS: Record<ConnectionState, Partial<Record<ConnectionInput, ConnectionState>>> = {
  idle: { start: 'connecting', stop: 'stopped' },
  connecting: { connack: 'connected', lost: 'backoff', stop: 'stopping' },
  connected: { lost: 'backoff', stop: 'stopping' },
  backoff: { timer: 'connecting', stop: 'stopping' },
  stopping: { closed: 'stopped' },
  stopped: {},
};

export interface ConnectionEvents {
  /** CONNACK accepted on this client; `conn` is the counter this CONNECT carried. */
  connected: [{ client: MqttClient; conn: number; sessionPresent: boolean }];
  /** The connected session ended (not emitted for failed attempts). */
  disconnected: [{ conn: number; reason: string }];
  message: [topic: string, payload: Buffer, packet: IPublishPacket];
  state: [ConnectionState];
}

export interface ConnectionOptions {
  url: string;
  log: Logger;
  clock: Clock;
  connect: MqttConnectFn;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Called before every CONNECT: returns the counter for it and the options (with its will). */
  prepare: () => { conn: number; options: IClientOptions };
  random?: () => number;
  /** Bound on each step of a clean stop (offline status PUBACK, DISCONNECT); default 3000 ms. */
  stopTimeoutMs?: number;
}

export class MqttConnection extends TypedEmitter<ConnectionEvents> {
  private stateValue: ConnectionState = 'idle';
  private client: MqttClient | undefined;
  private conn = 0;
  private attempt = 0;
  private timer: TimerHandle | undefined;
  /** Connect attempts and sessions since start (metrics). */
  readonly counters = { attempts: 0, sessions: 0, failures: 0 };

  constructor(private readonly opts: ConnectionOptions) {
    super();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The client of the current session, only while connected. */
  get activeClient(): MqttClient | undefined {
    return this.stateValue === 'connected' ? this.client : undefined;
  }

  start(): void {
    this.move('start');
    this.attemptConnect();
  }

  /**
   * Ends the connection. `beforeDisconnect` runs while still connected (e.g. publish the clean
   * offline status); then a normal DISCONNECT (reason 0: the broker drops the will).
   */
  async stop(beforeDisconnect?: (client: MqttClient) => Promise<void>): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'stopping') return;
    const wasConnected = this.stateValue === 'connected';
    this.timer?.cancel();
    this.timer = undefined;
    this.move('stop');
    // From idle, stop goes straight to stopped: nothing to close.
    if ((this.stateValue as ConnectionState) === 'stopped') return;
    const client = this.client;
    this.client = undefined;
    if (client) {
      if (wasConnected && beforeDisconnect) {
        try {
          await this.within(beforeDisconnect(client), 'before-disconnect step');
        } catch (err) {
          this.opts.log.warn('before-disconnect step failed', { err: errorMessage(err) });
        }
      }
      // A normal DISCONNECT waits for in-flight PUBACKs; a dead broker must not hold the stop.
      try {
        await this.within(new Promise<void>((resolve) => void client.end(!wasConnected, { reasonCode: 0 }, () => resolve())), 'clean disconnect');
      } catch (err) {
        this.opts.log.warn('clean disconnect timed out; closing the socket', { err: errorMessage(err) });
        client.end(true);
      }
    }
    if (wasConnected) this.emit('disconnected', { conn: this.conn, reason: 'stop' });
    this.move('closed');
  }

  /** Rejects when `p` has not settled within stopTimeoutMs (default 3000 ms). */
  private within(p: Promise<void>, what: string): Promise<void> {
    const limitMs = this.opts.stopTimeoutMs ?? 3000;
    return new Promise((resolve, reject) => {
      const timer = this.opts.clock.setTimeout(() => reject(new TonewallError('EFLEET_STOP_TIMEOUT', `${what} took longer than ${limitMs} ms`)), limitMs);
      p.then(
        () => {
          timer.cancel();
          resolve();
        },
        (err: unknown) => {
          timer.cancel();
          reject(err instanceof Error ? err : new Error(errorMessage(err)));
        },
      );
    });
  }

  private move(input: ConnectionInput): void {
    const next = TRANSITIONS[this.stateValue][input];
    if (!next) throw new TonewallError('EFLEET_STATE', `connection: input "${input}" is not valid in state "${this.stateValue}"`);
    this.stateValue = next;
    this.emit('state', next);
  }

  private attemptConnect(): void {
    this.counters.attempts++;
    let prepared: { conn: number; options: IClientOptions };
    let client: MqttClient;
    try {
      prepared = this.opts.prepare();
      client = this.opts.connect(this.opts.url, { ...prepared.options, manualConnect: true, reconnectPeriod: 0 });
    } catch (err) {
      this.opts.log.error('cannot prepare MQTT connection', { err: errorMessage(err) });
      this.lost(undefined, `prepare failed: ${errorMessage(err)}`);
      return;
    }
    this.client = client;
    this.conn = prepared.conn;
    client.on('message', (topic, payload, packet) => {
      if (this.client === client) this.emit('message', topic, payload, packet);
    });
    client.on('connect', (connack: IConnackPacket) => {
      if (this.client !== client || this.stateValue !== 'connecting') return;
      this.attempt = 0;
      this.counters.sessions++;
      this.move('connack');
      this.opts.log.info('connected to broker', { url: this.opts.url, conn: prepared.conn, sessionPresent: connack.sessionPresent });
      this.emit('connected', { client, conn: prepared.conn, sessionPresent: connack.sessionPresent });
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      this.opts.log.warn('broker connection error', { url: this.opts.url, err: errorMessage(err), code: (err as { code?: unknown }).code });
    });
    client.on('close', () => {
      if (this.client === client) this.lost(client, 'connection closed');
    });
    client.connect();
    // Events are small and latency-bound (DESIGN.md §9: state change → broker p99 ≤ 50 ms); MQTT.js
    // leaves Nagle on, which holds a publish back while an earlier one awaits its TCP ACK.
    (client.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined)?.setNoDelay?.(true);
  }

  private lost(client: MqttClient | undefined, reason: string): void {
    if (this.stateValue !== 'connecting' && this.stateValue !== 'connected') return;
    const wasConnected = this.stateValue === 'connected';
    if (!wasConnected) this.counters.failures++;
    this.client = undefined;
    client?.removeAllListeners('close');
    client?.on('error', () => undefined);
    client?.end(true);
    this.move('lost');
    if (wasConnected) {
      this.opts.log.warn('broker connection lost', { url: this.opts.url, conn: this.conn, reason });
      this.emit('disconnected', { conn: this.conn, reason });
    }
    const delayMs = backoffDelayMs(this.attempt++, this.opts.reconnectMinMs, this.opts.reconnectMaxMs, this.opts.random);
    this.opts.log.debug('reconnecting after backoff', { delayMs, attempt: this.attempt });
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.stateValue !== 'backoff') return;
      this.move('timer');
      this.attemptConnect();
    }, delayMs);
  }
}
