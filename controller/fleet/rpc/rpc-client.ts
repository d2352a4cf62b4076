/**
 * Fleet side of a command (docs/mqtt/rpc.md): for tests and the `tonewall fleet` CLI.
 *
 * Subscribes (QoS 1) to its own `${root}/${dev}/rpc/res/{requester}` first, then publishes
 * `${root}/${dev}/rpc/req/{method}` (QoS 1, MQTT 5 responseTopic + random correlationData, message
 * expiry until `exp`) and resolves with the first reply carrying the same correlation data.
 */
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
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
  /** Request id (default: a fresh UUID); pass the same id twice to test dedupe. */
  reqId?: string;
  actor?: string;
  /** Ed25519 fleet private key: adds `sig` over the canonical string. */
  sign?: string | KeyObject;
}

/** The reply as received: envelope fields plus the reply body. */
export type RpcReply = RpcReplyBody & { v?: number; ts?: number; dev?: string; seq?: number };

export async function callRpc(client: MqttClient, o: CallRpcOptions): Promise<RpcReply> {
  const responseTopic = `${o.root}/${o.dev}/rpc/res/${o.requester}`;
  await new Promise<void>((resolve, reject) => {
    client.subscribe(responseTopic, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
  const reqId = o.reqId ?? randomUUID();
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
    const expiryS = Math.max(1, Math.ceil((exp - Date.now()) / 1000));
    client.publish(`${o.root}/${o.dev}/rpc/req/${o.method}`, JSON.stringify(body), { qos: 1, properties: { responseTopic, correlationData, messageExpiryInterval: expiryS } }, (err) => {
      if (err) {
        cleanup();
        reject(err);
      }
    });
  });
}
