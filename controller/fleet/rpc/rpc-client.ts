/**
 * Fleet side of a command (docs/mqtt/rpc.md): for tests and the `tonewall fleet` CLI.
 *
 * Subscribes (QoS 1) to its own `${root}/${dev}/rpc/res/{requester}` first, then publishes
 * `${root}/${dev}/rpc/req/{method}` (QoS 1, MQTT 5 responseTopic + random correlationData, message
 * expiry: the longer of timeoutMs and until `exp`) and resolves with the first reply carrying the same correlation data.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { TonewallError } from '../../../hw/base/errors';
import { canonicalRequest, signRequest } from './signature';
import type { RpcReplyBody } from './types';

export interface CallRpcOptions {
  root: string;
  dev: string;
  method: string;
  params?: Record<string, unknown>;
  /** Last level of the response topic (the fleet tool's identity). */
  requester: string;
  /** Rejects with EFLEET_RPC_TIMEOUT when no reply arrives within this (ms). */
  timeoutMs: number;
  /** Expiry, ms epoch (default: now + timeoutMs). */
  exp?: number;
  /** Request id (default: 16 random bytes, base64url); pass the same id twice to test dedupe. */
  reqId?: string;
  actor?: string;
  /** Ed25519 fleet private key: adds `sig` over the canonical string. */
  sign?: string | KeyObject;
}

/** The reply as received: envelope fields plus the reply body. */
export type RpcReply = RpcReplyBody & { v?: number; ts?: number; dev?: string; boot?: string; conn?: number; seq?: number };

export async function callRpc(client: MqttClient, o: CallRpcOptions): Promise<RpcReply> {
  const responseTopic = `${o.root}/${o.dev}/rpc/res/${o.requester}`;
  await new Promise<void>((resolve, reject) => {
    client.subscribe(responseTopic, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
  // base64url, not a dashed UUID: dash-grouped digit runs in a UUID can look like a card number to
  // the device's publish guard, which would then withhold the reply.
  const reqId = o.reqId ?? randomBytes(16).toString('base64url');
  const exp = o.exp ?? Date.now() + o.timeoutMs;
  const correlationData = randomBytes(16);
  const body: Record<string, unknown> = { reqId, exp, ...(o.params !== undefined ? { params: o.params } : {}), ...(o.actor !== undefined ? { actor: o.actor } : {}) };
  if (o.sign !== undefined) body['sig'] = signRequest(o.sign, canonicalRequest(o.method, reqId, exp, o.params));
  return new Promise<RpcReply>((resolve, reject) => {
    const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
      const cd = packet.properties?.correlationData;
      if (topic !== responseTopic || cd === undefined || !correlationData.equals(Buffer.from(cd))) return;
      cleanup();
      try {
        resolve(JSON.parse(payload.toString('utf8')) as RpcReply);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new TonewallError('EFLEET_RPC_TIMEOUT', `no reply to ${o.method} request "${reqId}" within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      client.removeListener('message', onMessage);
    };
    client.on('message', onMessage);
    // Broker-side expiry: as long as the caller waits (at least 1 s; mosquitto counts whole seconds
    // from a cached clock, so a 1 s expiry can lapse before delivery), or until exp if later. The
    // device's `exp` check is the authority on staleness.
    const expiryS = Math.max(1, Math.ceil(o.timeoutMs / 1000), Math.ceil((exp - Date.now()) / 1000));
    client.publish(`${o.root}/${o.dev}/rpc/req/${o.method}`, JSON.stringify(body), { qos: 1, properties: { responseTopic, correlationData, messageExpiryInterval: expiryS } }, (err) => {
      if (err) {
        cleanup();
        reject(err);
      }
    });
  });
}
