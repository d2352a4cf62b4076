/**
 * A test-side MQTT 5 subscriber that records every message (topic, payload, properties, retain)
 * and lets a test wait for a condition. Waiting is bounded by a generous limit that only turns a
 * hang into a failure message naming what was expected; tests never assert on timing.
 */
import mqtt, { type IClientOptions, type MqttClient, type IPublishPacket } from 'mqtt';

export interface Received {
  topic: string;
  text: string;
  json: Record<string, unknown> | undefined;
  retain: boolean;
  packet: IPublishPacket;
}

export class FleetSubscriber {
  readonly messages: Received[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      this.messages.push({ topic, text, json, retain: packet.retain, packet });
      for (const w of this.waiters) w();
    });
  }

  /** Connects (MQTT 5 unless told otherwise) and subscribes to `filters` at QoS 1. */
  static async connect(url: string, filters: string[], opts: IClientOptions = {}): Promise<FleetSubscriber> {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 200, clientId: `tw-test-sub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, ...opts });
    const sub = new FleetSubscriber(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filters, { qos: 1 });
    return sub;
  }

  /** Waits until `pick(messages)` returns a value; fails naming `what` after `limitMs`. */
  waitFor<T>(what: string, pick: (msgs: Received[]) => T | undefined, limitMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const v = pick(this.messages);
        if (v === undefined) return false;
        cleanup();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`waited ${limitMs} ms for ${what}; received ${this.messages.length} messages on: ${[...new Set(this.messages.map((m) => m.topic))].join(', ')}`));
      }, limitMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = (): void => void check();
      this.waiters.push(waiter);
      check();
    });
  }

  /**
   * Publishes a marker on `topic` (which this subscriber must be subscribed to) and waits for it:
   * everything the broker had queued for us before the marker has then been delivered.
   */
  async barrier(topic: string): Promise<void> {
    const token = `barrier-${Math.random().toString(16).slice(2)}`;
    await this.client.publishAsync(topic, token, { qos: 1 });
    await this.waitFor(`barrier ${token}`, (m) => m.find((x) => x.topic === topic && x.text === token));
  }

  /** Polls `cond` (for state outside the message stream, e.g. the outbox depth) until it holds. */
  static async until(what: string, cond: () => boolean, limitMs = 15_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`waited ${limitMs} ms for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  on(topicSuffix: string): Received[] {
    return this.messages.filter((m) => m.topic.endsWith(topicSuffix));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
