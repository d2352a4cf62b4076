/**
 * A strict fake of the MQTT.js client surface the fleet reporter uses (connect, publish, end, and
 * subscribe, and the connect/close/message/error events). It records what it was sent and refuses what a real
 * session would not accept: publishing before CONNACK or after end, connecting twice.
 * Tests drive it: `connack()`, `drop()`, `puback(i, err?)`.
 */
import { EventEmitter } from 'node:events';
import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';

export interface FakePublish {
  topic: string;
  payload: string;
  opts: IClientPublishOptions;
  cb: (err?: Error) => void;
  json: Record<string, unknown> | undefined;
  acked: boolean;
}

export class FakeMqttClient extends EventEmitter {
  readonly published: FakePublish[] = [];
  connected = false;
  ended = false;
  endArgs: { force: boolean | undefined; reasonCode: number | undefined } | undefined;
  listenersAtConnect: Record<string, number> | undefined;

  constructor(
    readonly url: string,
    readonly options: IClientOptions,
  ) {
    super();
  }

  connect(): this {
    if (this.listenersAtConnect) throw new Error('fake mqtt: connect() called twice on one client');
    this.listenersAtConnect = { message: this.listenerCount('message'), connect: this.listenerCount('connect'), close: this.listenerCount('close') };
    return this;
  }

  publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions, cb: (err?: Error) => void): this {
    if (!this.connected) throw new Error(`fake mqtt: publish to ${topic} without an accepted CONNACK`);
    if (this.ended) throw new Error(`fake mqtt: publish to ${topic} after end()`);
    const text = payload.toString();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    this.published.push({ topic, payload: text, opts, cb, json, acked: false });
    return this;
  }

  readonly subscriptions: string[] = [];

  /** Records the filter and grants it (QoS 1). */
  subscribe(filter: string, _opts: unknown, cb?: (err: Error | null, granted: { topic: string; qos: number }[]) => void): this {
    if (!this.connected) throw new Error(`fake mqtt: subscribe to ${filter} without an accepted CONNACK`);
    this.subscriptions.push(filter);
    cb?.(null, [{ topic: filter, qos: 1 }]);
    return this;
  }

  end(force?: boolean, opts?: { reasonCode?: number }, cb?: () => void): this {
    this.ended = true;
    this.connected = false;
    this.endArgs = { force, reasonCode: opts?.reasonCode };
    if (cb) setImmediate(cb);
    return this;
  }

  // ── test drivers ──
  connack(sessionPresent = false): void {
    this.connected = true;
    this.emit('connect', { cmd: 'connack', sessionPresent, returnCode: 0 });
  }

  drop(): void {
    this.connected = false;
    this.emit('close');
  }

  puback(index: number, err?: Error): void {
    const p = this.published[index];
    if (!p) throw new Error(`fake mqtt: no publish #${index} (have ${this.published.length})`);
    if (p.acked) throw new Error(`fake mqtt: publish #${index} already acknowledged`);
    p.acked = true;
    p.cb(err);
  }

  /** Acks every publish not yet acked. */
  pubackAll(): void {
    this.published.forEach((p, i) => {
      if (!p.acked) this.puback(i);
    });
  }

  asClient(): MqttClient {
    return this as unknown as MqttClient;
  }
}

/** A connect factory that records every client it made. */
export function fakeConnector(): { clients: FakeMqttClient[]; connect: (url: string, opts: IClientOptions) => MqttClient } {
  const clients: FakeMqttClient[] = [];
  return {
    clients,
    connect: (url, opts) => {
      const c = new FakeMqttClient(url, opts);
      clients.push(c);
      return c.asClient();
    },
  };
}

export const flushPromises = (): Promise<void> => new Promise((r) => setImmediate(r));
