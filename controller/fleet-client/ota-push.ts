/**
 * `tonewall fleet ota push|cancel` (docs/mqtt/ota.md): publishes an update job on the device's
 * `ota/job` (QoS 1, retained) — signed with the fleet key when `sign` is given — and follows its
 * `ota/state` until the job ends (succeeded, rolled_back, failed, rejected, canceled) or `timeoutMs`
 * passes. The state subscription is made before the publish, so no transition is missed; a state
 * retained from an earlier job is ignored (another jobId). `cancel` publishes the empty retained job.
 */
import type { MqttClient } from 'mqtt';
import { TonewallError } from '../../hw/base/errors';
import { signOtaJob } from '../fleet/ota/job';
import { topicLevel } from '../fleet/topics';

export const OTA_TERMINAL = ['succeeded', 'rolled_back', 'failed', 'rejected', 'canceled'] as const;

export interface OtaPushOptions {
  root: string;
  dev: string;
  /** The job (jobId, version, artifact, window?, policy?). */
  job: Record<string, unknown>;
  /** The fleet's Ed25519 private key (PEM): adds `sig`. */
  sign?: string;
  actor?: string;
  timeoutMs: number;
  /** Called with every ota/state of this job, in order. */
  onState?: (state: Record<string, unknown>) => void;
}

export async function pushOtaJob(client: MqttClient, o: OtaPushOptions): Promise<Record<string, unknown>> {
  const jobId = o.job['jobId'];
  if (typeof jobId !== 'string') throw new TonewallError('EFLEET_OTA', 'the job has no jobId string');
  const base = `${o.root}/${topicLevel('device id', o.dev)}`;
  const stateTopic = `${base}/ota/state`;
  let finish: ((s: Record<string, unknown>) => void) | undefined;
  const done = new Promise<Record<string, unknown>>((resolve) => (finish = resolve));
  const onMessage = (topic: string, payload: Buffer): void => {
    if (topic !== stateTopic || payload.length === 0) return;
    let s: Record<string, unknown>;
    try {
      s = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    if (s['jobId'] !== jobId) return;
    o.onState?.(s);
    if ((OTA_TERMINAL as readonly unknown[]).includes(s['state'])) finish?.(s);
  };
  client.on('message', onMessage);
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.subscribeAsync(stateTopic, { qos: 1 });
    const job = { ...o.job, ...(o.actor !== undefined ? { actor: o.actor } : {}) };
    const body = o.sign !== undefined ? signOtaJob(o.sign, { ...job, jobId }) : job;
    await client.publishAsync(`${base}/ota/job`, JSON.stringify(body), { qos: 1, retain: true, properties: { contentType: 'application/json', payloadFormatIndicator: true } });
    return await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TonewallError('EFLEET_TIMEOUT', `update job ${jobId} on ${o.dev} did not end within ${o.timeoutMs} ms`)), o.timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    client.off('message', onMessage);
    await client.unsubscribeAsync(stateTopic).catch(() => undefined);
  }
}

/** Withdraws the retained job (the device cancels it if it has not begun installing). */
export async function cancelOtaJob(client: MqttClient, root: string, dev: string): Promise<void> {
  await client.publishAsync(`${root}/${topicLevel('device id', dev)}/ota/job`, '', { qos: 1, retain: true });
}
