/**
 * `tonewall fleet config push`: publishes `config/desired` (QoS 1, retained) with the next version
 * and waits for the device's `config/reported` for that version (mqtt-fleet.md §7.2:
 * desired `{version, config}`, reported `{version, state: applied|rejected|pending_restart, errors,
 * appliedAt, restartKeys?}`; versions at or below the applied one are ignored by the device, so a
 * push that is not above it gets no answer and times out).
 *
 * With `sign` (the fleet's private key) the message carries `sig` over `{version, config}`
 * (config-sync.ts canonicalConfig), which the device requires for sensitive keys.
 *
 * The next version is one above the highest of the retained desired and reported versions (or the
 * one given). The reported subscription is made before the publish, so the answer cannot be missed.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { TonewallError } from '../../hw/base/errors';
import { signConfig } from '../fleet/config-sync';
import { topicLevel } from '../fleet/topics';
import { readRetained } from './retained';

export interface ConfigPushOptions {
  root: string;
  dev: string;
  /** The full desired configuration document. */
  config: Record<string, unknown>;
  /** Default: one above the highest retained desired / reported version. */
  version?: number;
  timeoutMs: number;
  actor?: string;
  /** The fleet's Ed25519 private key (PEM): adds `sig` (needed for payment, masking, SIP security and broker keys). */
  sign?: string;
}

export interface ConfigPushResult {
  version: number;
  /** The `config/reported` payload for `version` (parsed JSON). */
  reported: Record<string, unknown>;
}

function versionOf(payload: Buffer): number {
  try {
    const v = (JSON.parse(payload.toString('utf8')) as { version?: unknown }).version;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
  } catch {
    return 0;
  }
}

export async function pushConfig(client: MqttClient, o: ConfigPushOptions): Promise<ConfigPushResult> {
  const base = `${o.root}/${topicLevel('device id', o.dev)}/config`;
  const desiredTopic = `${base}/desired`;
  const reportedTopic = `${base}/reported`;
  let answer: ((r: Record<string, unknown>) => void) | undefined;
  let wanted = Number.POSITIVE_INFINITY;
  const onLive = (m: { topic: string; payload: Buffer; packet: IPublishPacket }): void => {
    if (m.topic !== reportedTopic || versionOf(m.payload) < wanted) return;
    try {
      answer?.(JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>);
    } catch {
      // not JSON: not an answer
    }
  };
  const retained = await readRetained(client, o.root, [desiredTopic, reportedTopic], o.timeoutMs, onLive);
  const highest = Math.max(0, ...retained.map((m) => versionOf(m.payload)));
  const version = o.version ?? highest + 1;
  if (!Number.isInteger(version) || version < 1) throw new TonewallError('EFLEET_CONFIG', `config version ${version} is not a positive integer`);
  wanted = version;
  const reply = new Promise<Record<string, unknown>>((resolve) => (answer = resolve));
  const body = { version, config: o.config, ...(o.actor !== undefined ? { actor: o.actor } : {}), ...(o.sign !== undefined ? { sig: signConfig(o.sign, version, o.config) } : {}) };
  await client.publishAsync(desiredTopic, JSON.stringify(body), { qos: 1, retain: true, properties: { contentType: 'application/json', payloadFormatIndicator: true } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const reported = await Promise.race([
      reply,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TonewallError('EFLEET_RPC_TIMEOUT', `no config/reported for version ${version} from ${o.dev} within ${o.timeoutMs} ms`)), o.timeoutMs);
      }),
    ]);
    return { version, reported };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
