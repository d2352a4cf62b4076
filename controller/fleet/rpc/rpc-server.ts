/**
 * RpcServer: the device side of MQTT 5 request/response commands (DESIGN.md §6, mqtt-fleet.md §6–7,
 * docs/mqtt/rpc.md). Decides what to answer; publishing and auditing are injected.
 *
 * For each request, in order:
 *  1. responseTopic missing or not under `${root}/${dev}/rpc/res/` → dropped, counted, audited
 *     (never answered anywhere else);
 *  2. payload not JSON / not `{reqId, params?, exp?, actor?, sig?}` (strict) → `bad_request`;
 *  3. reqId seen before (LRU) → the same reply again, no second execution;
 *  4. exp < now → `expired`; unknown method → `unknown_method`;
 *  5. dangerous method: no exp / no sig / no fleet key → `signature_required`, bad sig → `bad_signature`;
 *  6. params against the method's schema → `bad_params`; then the handler (a throw → `handler_failed`
 *     or the TonewallError code).
 * Every request is audited: source mqtt, action = method, actor, result = reply status (or dropped /
 * duplicate), detail = error code only (never params: they could carry anything).
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { findCardLikeRun } from '../../../hw/base/card-guard';
import type { Clock } from '../../../hw/base/clock';
import { TonewallError, errorCode, errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import type { AuditInput } from '../../store/audit';
import { ReplyCache } from './reply-cache';
import { canonicalRequest, fleetPublicKey, verifyRequestSignature } from './signature';
import type { RpcContext, RpcInbound, RpcMethod, RpcOutcome, RpcReplyBody, RpcReplyPublisher } from './types';

const METHOD = /^[A-Za-z0-9_.-]{1,64}$/;

/** The request envelope (strict: an unknown key is a client bug worth telling). */
export const rpcRequestSchema = z
  .object({
    reqId: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1-128 characters [A-Za-z0-9_.:-]'),
    params: z.record(z.string(), z.unknown()).optional(),
    exp: z.number().int().positive().optional(),
    actor: z.string().min(1).max(128).optional(),
    sig: z.string().max(256).optional(),
  })
  .strict();

export interface RpcServerOptions {
  /** `${root}/${dev}/rpc/res/`: the only prefix replies may go to. */
  responsePrefix: string;
  publish: RpcReplyPublisher;
  audit: { append(e: AuditInput): unknown };
  log: Logger;
  clock: Clock;
  /** Ed25519 public key (PEM) of the fleet; without it dangerous methods are always refused. */
  fleetKeyPem?: string | KeyObject;
  /** Replies remembered for duplicates (default 1024). */
  cacheSize?: number;
  /** Message expiry of replies, seconds (default 300). */
  replyExpiryS?: number;
}

export interface RpcCounters {
  requests: number;
  dropped: number;
  duplicates: number;
  errors: number;
}

export class RpcServer {
  readonly counters: RpcCounters = { requests: 0, dropped: 0, duplicates: 0, errors: 0 };
  private readonly methods = new Map<string, RpcMethod<unknown>>();
  private readonly cache: ReplyCache<RpcReplyBody>;
  private readonly fleetKey: KeyObject | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: RpcServerOptions) {
    if (!opts.responsePrefix.endsWith('/rpc/res/')) {
      throw new TonewallError('EFLEET_RPC', `response prefix "${opts.responsePrefix}" does not end with "/rpc/res/"`);
    }
    this.cache = new ReplyCache(opts.cacheSize ?? 1024);
    this.fleetKey = opts.fleetKeyPem === undefined ? undefined : fleetPublicKey(opts.fleetKeyPem);
    this.log = opts.log.child('rpc');
  }

  register<P>(method: string, def: RpcMethod<P>): void {
    if (!METHOD.test(method)) throw new TonewallError('EFLEET_RPC', `method name "${method}" is not 1-64 characters [A-Za-z0-9_.-]`);
    if (this.methods.has(method)) throw new TonewallError('EFLEET_RPC', `method "${method}" is already registered`);
    this.methods.set(method, def as RpcMethod<unknown>);
  }

  get registered(): string[] {
    return [...this.methods.keys()].sort();
  }

  /** Handles one request; resolves when its reply is published (or it was dropped). Never rejects. */
  async handle(req: RpcInbound): Promise<void> {
    this.counters.requests++;
    const rt = req.responseTopic;
    const rest = rt?.startsWith(this.opts.responsePrefix) === true ? rt.slice(this.opts.responsePrefix.length) : '';
    if (rt === undefined || rest === '' || /[#+]/.test(rest) || rest.includes(String.fromCharCode(0))) {
      this.counters.dropped++;
      this.log.warn('rpc request dropped: response topic is not under this device rpc/res/', { method: req.method.slice(0, 64), expected: this.opts.responsePrefix });
      this.audit(req.method, undefined, 'dropped', 'response topic outside rpc/res/');
      return;
    }
    const parsed = this.parse(req.payload);
    if (!parsed.ok) {
      await this.reply(req, rt, { reqId: parsed.reqId, status: 'error', error: { code: 'bad_request', message: parsed.message } });
      this.audit(req.method, undefined, 'error', 'bad_request');
      return;
    }
    const request = parsed.value;
    const cached = this.cache.get(request.reqId);
    if (cached) {
      this.counters.duplicates++;
      this.audit(req.method, request.actor, 'duplicate', null);
      await this.reply(req, rt, await cached);
      return;
    }
    const decided = this.decide(req.method, request);
    this.cache.set(request.reqId, decided);
    const body = await decided;
    this.audit(req.method, request.actor, body.status, body.error?.code ?? null);
    await this.reply(req, rt, body);
  }

  private parse(payload: Buffer): { ok: true; value: z.infer<typeof rpcRequestSchema> } | { ok: false; reqId: string; message: string } {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return { ok: false, reqId: '', message: `payload is not JSON (${errorMessage(err)}); expected {"reqId":…,"params":{…},"exp":…,"actor":…}` };
    }
    const r = rpcRequestSchema.safeParse(json);
    if (r.success) return { ok: true, value: r.data };
    const reqId = typeof json === 'object' && json !== null && typeof (json as { reqId?: unknown }).reqId === 'string' ? (json as { reqId: string }).reqId : '';
    return { ok: false, reqId: /^[A-Za-z0-9_.:-]{1,128}$/.test(reqId) ? reqId : '', message: `request ${issuesText(r.error)}` };
  }

  private async decide(method: string, r: z.infer<typeof rpcRequestSchema>): Promise<RpcReplyBody> {
    const err = (code: string, message: string): RpcReplyBody => ({ reqId: r.reqId, status: 'error', error: { code, message } });
    const now = this.opts.clock.now();
    if (r.exp !== undefined && r.exp < now) return err('expired', `request expired at ${iso(r.exp)}; device time is ${iso(now)}`);
    const def = this.methods.get(method);
    if (!def) return err('unknown_method', `method "${method.slice(0, 64)}" is unknown; expected one of ${this.registered.join(', ')}`);
    if (def.dangerous === true || (typeof def.dangerous === 'function' && def.dangerous(r.params))) {
      if (!this.fleetKey) return err('signature_required', `method "${method}" needs a fleet-key signature and no fleet key is configured`);
      if (r.exp === undefined || r.sig === undefined) return err('signature_required', `method "${method}" needs "exp" and "sig" (Ed25519 by the fleet key)`);
      if (!verifyRequestSignature(this.fleetKey, canonicalRequest(method, r.reqId, r.exp, r.params), r.sig)) {
        return err('bad_signature', `signature of "${method}" request "${r.reqId}" does not verify with the fleet key`);
      }
    }
    const params = def.schema.safeParse(r.params ?? {});
    if (!params.success) return err('bad_params', `params of "${method}" ${issuesText(params.error)}`);
    const ctx: RpcContext = { method, reqId: r.reqId, actor: r.actor, expMs: r.exp };
    let outcome: RpcOutcome;
    try {
      outcome = await def.handler(params.data, ctx);
    } catch (e) {
      const code = e instanceof TonewallError ? e.code : 'handler_failed';
      return err(code, `"${method}" failed: ${errorMessage(e)}`);
    }
    if (outcome.status === 'error') return { reqId: r.reqId, status: 'error', error: outcome.error };
    return { reqId: r.reqId, status: outcome.status, ...(outcome.data !== undefined ? { data: outcome.data } : {}) };
  }

  private async reply(req: RpcInbound, responseTopic: string, body: RpcReplyBody): Promise<void> {
    if (body.status === 'error') this.counters.errors++;
    const expiryS = this.opts.replyExpiryS ?? 300;
    try {
      await this.opts.publish(responseTopic, body, req.correlationData, expiryS);
      return;
    } catch (err) {
      this.log.warn('rpc reply not published', { method: req.method.slice(0, 64), reqId: body.reqId, err: errorMessage(err) });
      if (errorCode(err) !== 'EFLEET_GUARD') return;
    }
    // The publish guard refused the reply (card-like content): answer that, without the content.
    this.counters.errors++;
    const reqId = findCardLikeRun(body.reqId) ? '' : body.reqId;
    const withheld: RpcReplyBody = { reqId, status: 'error', error: { code: 'reply_withheld', message: 'the reply was withheld by the publish guard (card-like content)' } };
    try {
      await this.opts.publish(responseTopic, withheld, req.correlationData, expiryS);
    } catch (err) {
      this.log.warn('rpc reply not published', { method: req.method.slice(0, 64), reqId: body.reqId, err: errorMessage(err) });
    }
  }

  private audit(method: string, actor: string | undefined, result: string, detail: string | null): void {
    const action = METHOD.test(method) ? method : 'invalid-method';
    try {
      this.opts.audit.append({ source: 'mqtt', action, actor: actor ?? null, result, detail });
    } catch (err) {
      // The audit guard refused the actor (card-like text): record the command without it.
      try {
        this.opts.audit.append({ source: 'mqtt', action, actor: null, result, detail: 'actor refused by the audit guard' });
      } catch (err2) {
        this.log.error('rpc audit append failed', { err: errorMessage(err), err2: errorMessage(err2) });
      }
    }
  }
}

/** ms epoch as ISO 8601 UTC: a raw 13-digit time in a message would look like a card number to the publish guard. */
function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'an invalid time' : d.toISOString();
}

/** zod issues as one line: `path: message; …` (names the field and what was expected). */
function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
