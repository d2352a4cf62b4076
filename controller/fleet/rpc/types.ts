/** Types of the MQTT request/response commands (DESIGN.md §6; docs/mqtt/rpc.md). */
import type { ZodType } from 'zod';
import type { JsonObject } from '../../store/json';

export type RpcStatus = 'ok' | 'error' | 'accepted';

/** Error codes a reply can carry (handlers may add their own, e.g. from TonewallError codes). */
export type RpcErrorCode = 'bad_request' | 'bad_params' | 'expired' | 'unknown_method' | 'signature_required' | 'bad_signature' | 'handler_failed' | 'reply_withheld' | (string & {});

/** The reply body (the reporter adds the envelope): `rpc/res/{requester}`. */
export interface RpcReplyBody {
  reqId: string;
  status: RpcStatus;
  data?: JsonObject;
  error?: { code: RpcErrorCode; message: string };
}

/** What a handler returns: success (`ok` or `accepted` for long operations) or an error. */
export type RpcOutcome = { status: 'ok' | 'accepted'; data?: JsonObject } | { status: 'error'; error: { code: RpcErrorCode; message: string } };

export interface RpcContext {
  method: string;
  reqId: string;
  actor: string | undefined;
  /** Request expiry, ms since epoch (undefined when the request carried none). */
  expMs: number | undefined;
}

export interface RpcMethod<P> {
  /** Validates `params` (absent params are validated as `{}`); use strict objects. */
  schema: ZodType<P>;
  /**
   * Requires a fleet-key signature and an `exp` (reboot, factory_reset); a function decides from the
   * raw params (restart: only when `force` is true).
   */
  dangerous?: boolean | ((rawParams: Record<string, unknown> | undefined) => boolean);
  handler: (params: P, ctx: RpcContext) => Promise<RpcOutcome>;
}

/** One inbound request as the reporter hands it over. */
export interface RpcInbound {
  /** The last topic level of `rpc/req/{method}`. */
  method: string;
  payload: Buffer;
  responseTopic: string | undefined;
  correlationData: Buffer | undefined;
}

/** Publishes a reply (QoS 1, message expiry, correlation data) to an absolute response topic. */
export type RpcReplyPublisher = (responseTopic: string, body: RpcReplyBody, correlationData: Buffer | undefined, expiryS: number) => Promise<void>;
