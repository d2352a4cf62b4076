/** Public surface of controller/fleet/rpc (MQTT request/response commands; docs/mqtt/rpc.md). */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../../hw/base/clock';
import { errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import type { Store } from '../../store/store';
import type { FleetReporter } from '../reporter';
import type { InfoBody } from '../topics';
import { registerBuiltins } from './builtins';
import { RpcServer } from './rpc-server';

export { RpcServer, rpcRequestSchema, type RpcServerOptions, type RpcCounters } from './rpc-server';
export { registerBuiltins, type BuiltinDeps } from './builtins';
export { callRpc, type CallRpcOptions, type RpcReply } from './rpc-client';
export { canonicalRequest, fleetPublicKey, signRequest, verifyRequestSignature } from './signature';
export * from './types';

export interface FleetRpcOptions {
  reporter: FleetReporter;
  store: Pick<Store, 'audit'>;
  log: Logger;
  clock: Clock;
  /** The birth record (same function as FleetReporterOptions.info). */
  info: () => InfoBody;
  /** Ed25519 fleet public key, PEM (dangerous methods are refused without it). */
  fleetKeyPem?: string | KeyObject;
  cacheSize?: number;
  replyExpiryS?: number;
}

/**
 * An RpcServer with the built-ins (ping, get_info, rebirth), attached to the reporter: requests
 * arrive from it and replies go out through it. Register further methods on the result before
 * `reporter.start()` (or at any time: unknown methods are answered `unknown_method` until then).
 */
export function createFleetRpc(o: FleetRpcOptions): RpcServer {
  const rpc = new RpcServer({
    responsePrefix: o.reporter.rpcResponsePrefix,
    publish: (topic, body, cd, expiryS) => o.reporter.publishRpcReply(topic, body, cd, expiryS),
    audit: o.store.audit,
    log: o.log,
    clock: o.clock,
    fleetKeyPem: o.fleetKeyPem,
    cacheSize: o.cacheSize,
    replyExpiryS: o.replyExpiryS,
  });
  registerBuiltins(rpc, { clock: o.clock, info: o.info, rebirth: () => o.reporter.rebirth() });
  const log = o.log.child('rpc');
  o.reporter.attachRpc((req) => {
    rpc.handle(req).catch((err: unknown) => log.error('rpc request handling failed', { err: errorMessage(err) }));
  });
  return rpc;
}
