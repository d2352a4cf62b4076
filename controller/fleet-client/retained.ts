/**
 * Reads the retained state under some topic filters: subscribes (QoS 1) to them and to a private
 * barrier topic in one SUBSCRIBE, then publishes a marker to the barrier and waits for it. The
 * broker sends the retained messages of a subscription before it handles our later PUBLISH, so
 * when the marker comes back every retained message has been delivered (no settle-time guess).
 */
import { randomBytes } from 'node:crypto';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { TonewallError } from '../../hw/base/errors';

export interface RetainedMessage {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** `${root}/_fleet/cli/{token}`: a topic no device publishes or reads (the fleet role's own). */
export function barrierTopic(root: string, token: string): string {
  return `${root}/_fleet/cli/${token}`;
}

/**
 * Subscribes to `filters`, waits for the barrier, and returns the retained messages received (in
 * arrival order). Messages keep arriving afterwards for `onLive` when given (the subscription stays).
 */
export async function readRetained(client: MqttClient, root: string, filters: string[], timeoutMs: number, onLive?: (m: RetainedMessage) => void): Promise<RetainedMessage[]> {
  const token = randomBytes(8).toString('hex');
  const barrier = barrierTopic(root, token);
  const got: RetainedMessage[] = [];
  let settled = false;
  let release: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (release = resolve));
  const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
    if (topic === barrier) {
      if (payload.toString('utf8') === token) {
        settled = true;
        release();
      }
      return;
    }
    if (!filters.some((f) => topicMatches(f, topic))) return;
    const m = { topic, payload, packet };
    if (!settled) got.push(m);
    else onLive?.(m);
  };
  client.on('message', onMessage);
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.subscribeAsync([...filters, barrier], { qos: 1 });
    await client.publishAsync(barrier, token, { qos: 1 });
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TonewallError('EFLEET_TIMEOUT', `retained state under ${filters.join(', ')} not read within ${timeoutMs} ms (barrier ${barrier} never came back)`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    if (!onLive) client.removeListener('message', onMessage);
    client.unsubscribe(barrier);
  }
  return got;
}

/** MQTT topic filter matching (`+` one level, `#` the rest; MQTT 5 §4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
