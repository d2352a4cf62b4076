/**
 * MQTT.js connect options for one CONNECT (mqtt-fleet.md §7.4), pure so tests can check them.
 *
 * - protocolVersion 5 (4 only for a 3.1.1 broker such as the embedded aedes: then no properties,
 *   so no will delay, session expiry or message expiry);
 * - clientId = device id; clean:false with sessionExpiryInterval (>= will delay, config-checked);
 * - reconnectPeriod 0: reconnects are ours (backoff.ts); manualConnect: handlers attach first;
 * - queueQoSZero false; UniqueMessageIdProvider (the default one reuses ids in flight);
 * - the will: `status` offline/lwt built for this CONNECT's `conn`, QoS 1, retained, with
 *   willDelayInterval so a quick reconnect does not flap the status.
 */
import { readFileSync } from 'node:fs';
import { type IClientOptions, UniqueMessageIdProvider } from 'mqtt';
import { TonewallError, errorMessage } from '../../hw/base/errors';
import type { MqttConfig } from '../config/schema';

export type MqttProtocolVersion = 4 | 5;

export interface WillSpec {
  topic: string;
  payload: string;
}

export interface ConnectOptionsInput {
  mqtt: MqttConfig;
  clientId: string;
  will: WillSpec;
  protocolVersion: MqttProtocolVersion;
  /** Reads a TLS file (injectable for tests). */
  readFile?: (path: string) => Buffer;
}

export function buildConnectOptions(input: ConnectOptionsInput): IClientOptions {
  const { mqtt, protocolVersion } = input;
  const v5 = protocolVersion === 5;
  const opts: IClientOptions = {
    protocolVersion,
    clientId: input.clientId,
    clean: false,
    keepalive: mqtt.keepaliveS,
    connectTimeout: 10_000,
    reconnectPeriod: 0,
    manualConnect: true,
    queueQoSZero: false,
    resubscribe: true,
    messageIdProvider: new UniqueMessageIdProvider(),
    will: {
      topic: input.will.topic,
      payload: Buffer.from(input.will.payload, 'utf8'),
      qos: 1,
      retain: true,
      ...(v5 ? { properties: { willDelayInterval: mqtt.willDelayS, contentType: 'application/json', payloadFormatIndicator: true } } : {}),
    },
  };
  if (v5) opts.properties = { sessionExpiryInterval: mqtt.sessionExpiryS };
  if (mqtt.username !== undefined) opts.username = mqtt.username;
  if (mqtt.password !== undefined) opts.password = mqtt.password;
  const read = input.readFile ?? ((p: string) => readFileSync(p));
  const tlsFile = (what: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return read(path);
    } catch (err) {
      throw new TonewallError('EFLEET_TLS_FILE', `cannot read mqtt.tls.${what} "${path}": ${errorMessage(err)}`);
    }
  };
  const ca = tlsFile('ca', mqtt.tls.ca);
  const cert = tlsFile('cert', mqtt.tls.cert);
  const key = tlsFile('key', mqtt.tls.key);
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  opts.rejectUnauthorized = mqtt.tls.rejectUnauthorized;
  return opts;
}
