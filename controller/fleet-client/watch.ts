/**
 * `tonewall fleet watch`: every message under `${root}/{device|+}/{topic|#}` as one JSON line,
 * retained ones first. `status`, `info` and `health` lines carry the device's presence after the
 * message (the consumers' rule, presence.ts), and a `status` the rule ignores says `stale: true`.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { topicLevel } from '../fleet/topics';
import { deviceTopic } from './fleet-list';
import { PresenceTracker, presenceInput } from './presence';

export interface WatchLine {
  topic: string;
  dev: string | undefined;
  retain: boolean;
  /** The JSON payload, or the text when it is not JSON, or null for an empty (clearing) payload. */
  payload: unknown;
  presence?: { state: string; conn: number };
  stale?: true;
}

export interface WatchOptions {
  root: string;
  device?: string;
  /** Filter below the device, e.g. `events/#` (default `#`). */
  topic?: string;
}

export function watchFilter(o: WatchOptions): string {
  const dev = o.device === undefined ? '+' : topicLevel('device id', o.device);
  return `${o.root}/${dev}/${o.topic ?? '#'}`;
}

/** Turns one message into its line, updating `tracker`. */
export function watchLine(root: string, tracker: PresenceTracker, topic: string, payload: Buffer, retain: boolean): WatchLine {
  const dt = deviceTopic(root, topic);
  const text = payload.toString('utf8');
  let body: unknown = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const line: WatchLine = { topic, dev: dt?.dev, retain, payload: body };
  if (dt && (dt.rest === 'status' || dt.rest === 'info' || dt.rest === 'health')) {
    const input = presenceInput(dt.rest, payload);
    if (input) {
      const before = tracker.get(dt.dev)?.ignoredStale ?? 0;
      const p = tracker.observe(dt.dev, input);
      line.presence = { state: p.state, conn: p.maxConn };
      if (p.ignoredStale > before) line.stale = true;
    }
  }
  return line;
}

/** Subscribes and calls `onLine` for every message until `client` ends. Resolves once subscribed. */
export async function watchFleet(client: MqttClient, o: WatchOptions, onLine: (line: WatchLine) => void): Promise<void> {
  const tracker = new PresenceTracker();
  const filter = watchFilter(o);
  client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => onLine(watchLine(o.root, tracker, topic, payload, packet.retain)));
  await client.subscribeAsync(filter, { qos: 1 });
}
