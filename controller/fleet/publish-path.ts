/**
 * The single publish path (DESIGN.md §6): every message the device sends goes through `publish`,
 * which, in order, wraps the body in the envelope (envelope.ts), runs the publish guard (card-like
 * data refused, publish-guard.ts), checks the payload against its topic's schema
 * (payload-schemas.ts; a mismatch is refused with EFLEET_SCHEMA, logged and counted), and sets the
 * topic's QoS / retain and the MQTT 5 properties (contentType application/json,
 * payloadFormatIndicator, user property schema=…, message expiry, correlation data). Resolves on
 * PUBACK (QoS 1) or once written (QoS 0).
 */
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { TonewallError } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import type { MqttProtocolVersion } from './connect-options';
import type { EnvelopeSource } from './envelope';
import { checkPayload } from './payload-schemas';
import { PublishGuard } from './publish-guard';
import { type DeviceTopic, type DeviceTopics, topicPolicy } from './topics';

export interface PublishExtra {
  messageExpiryS?: number;
  correlationData?: Buffer;
}

export class PublishPath {
  readonly guard = new PublishGuard();
  published = 0;
  publishErrors = 0;
  /** Payloads refused because they did not match their topic's schema. */
  schemaRefused = 0;

  constructor(
    private readonly env: EnvelopeSource,
    private readonly absolute: (relative: string) => string,
    private readonly protocolVersion: MqttProtocolVersion,
    private readonly log: Logger,
  ) {}

  async publish<T extends DeviceTopic>(client: MqttClient, rel: T, body: DeviceTopics[T], extra: PublishExtra = {}): Promise<void> {
    const topic = this.absolute(rel);
    const payload = this.env.wrap(body);
    this.guard.check(topic, payload);
    const mismatch = checkPayload(rel, payload);
    if (mismatch !== undefined) {
      this.schemaRefused++;
      this.log.warn('publish refused: payload does not match its schema', { topic: rel, problem: mismatch });
      throw new TonewallError('EFLEET_SCHEMA', `publish to ${rel} refused: ${mismatch}`);
    }
    const policy = topicPolicy(rel);
    const opts: IClientPublishOptions = { qos: policy.qos, retain: policy.retain };
    if (this.protocolVersion === 5) {
      opts.properties = {
        contentType: 'application/json',
        payloadFormatIndicator: true,
        userProperties: { schema: policy.schema },
        ...(extra.messageExpiryS !== undefined ? { messageExpiryInterval: extra.messageExpiryS } : {}),
        ...(extra.correlationData !== undefined ? { correlationData: extra.correlationData } : {}),
      };
    }
    await this.send(client, topic, JSON.stringify(payload), opts);
  }

  /** An empty retained payload clears a retained topic (only the topic to guard). */
  async publishEmpty(client: MqttClient, rel: DeviceTopic): Promise<void> {
    const topic = this.absolute(rel);
    this.guard.check(topic, null);
    await this.send(client, topic, '', { qos: 1, retain: true });
  }

  private send(client: MqttClient, topic: string, payload: string, opts: IClientPublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, opts, (err) => {
        if (err) {
          this.publishErrors++;
          reject(err);
        } else {
          this.published++;
          resolve();
        }
      });
    });
  }
}
