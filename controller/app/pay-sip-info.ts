/**
 * Payments over SIP INFO on the call's own dialog (RFC 6086; docs/payments.md §3), beside the MQTT
 * `pay.*` commands.
 *
 * In: an INFO with `Content-Type: application/vnd.tonewall.pay+json` (parameters such as charset are
 * ignored) and a body `{ "action": "start" | "clear_field" | "cancel" | "status", …parameters }`:
 * - the call id is the dialog's, never the body's (a different `callId` in a start is refused), and
 *   commands on a session are confined to sessions of that call;
 * - 200 with `{ "ok": true, "data": snapshot }` or `{ "ok": false, "error": { code, message } }`
 *   (the command ran and was refused: unknown session, busy, no such call…);
 * - 400 when the body is not a valid command (not JSON, no action, bad parameters, over
 *   `PAY_INFO_MAX_BODY_BYTES`), the reason phrase and the error body saying what is wrong;
 * - 415 for any other content type (with an `Accept` body naming ours); 200 for an INFO without a body
 *   (legacy keep-alive use, RFC 6086 §4.2.2), as the call manager answers when no handler is set.
 * Out: every masked progress and result update of a session goes to the agent as an INFO with the
 * same content type on that call's dialog, body = the `pay/{sessionId}` snapshot (the ended one
 * carries `result`) — on calls whose dialog has sent us an INFO of this content type (the agent's side
 * speaks it; RFC 6086 §4: no INFO to a peer that never showed it understands it, which a plain SIP
 * trunk or a sipp scenario would take as an unexpected request). `updates: 'all-calls'` sends on every
 * call. Per call one INFO at a time, in order (RFC 6086 §4.2.1 leaves overlap to the
 * UAs; the agent sees the states in sequence); queued progress of the same session is coalesced
 * to the newest, a final snapshot is never dropped. A failed send is logged and the queue goes on.
 *
 * Nothing here sees a digit: snapshots carry counts, validity, brand, last four (BIN by policy).
 */
import { findCardLikeRun } from '../../hw/base/card-guard';
import { errorCode, errorMessage } from '../../hw/base/errors';
import type { Logger } from '../../hw/base/logger';
import { parsePayInfoBody, type PayCommand, type PayReply } from '../secure/pay-commands';
import type { PaySnapshotBody } from '../fleet/topics';

export const PAY_INFO_CONTENT_TYPE = 'application/vnd.tonewall.pay+json';
/** Largest INFO body taken (bytes); a command is a few hundred. */
export const PAY_INFO_MAX_BODY_BYTES = 8192;
/** Calls remembered as speaking pay INFO (oldest forgotten first; far above the channels of a card). */
export const PAY_INFO_MAX_CALLS = 1024;
/** Updates queued per call beyond the one in flight (older progress is coalesced anyway). */
export const PAY_INFO_MAX_QUEUED = 32;

/** An INFO received on a call's dialog (the call manager's `InfoRequest`, controller/call/ports.ts). */
export interface PayInfoRequest {
  callId: string;
  contentType: string;
  body: Buffer;
}

/** The answer to it (the call manager's `InfoReply`). */
export interface PayInfoReply {
  status: number;
  reason?: string;
  contentType?: string;
  body?: Buffer;
}

/** What this needs of the call manager. */
export interface PayInfoCalls {
  onInfo(handler: (req: PayInfoRequest) => PayInfoReply | Promise<PayInfoReply>): void;
  /** Resolves with the final status; rejects with a TonewallError when there is no such call/dialog. */
  sendInfo(callId: string, contentType: string, body: Buffer): Promise<number>;
}

/** What this needs of the payments service (`PaymentsService` satisfies it). */
export interface PayInfoPayments {
  execute(cmd: PayCommand, fromCallId?: string): PayReply;
  onUpdate(listener: (snapshot: PaySnapshotBody, final: boolean) => void): void;
}

export interface PaySipInfoOptions {
  calls: PayInfoCalls;
  payments: PayInfoPayments;
  log: Logger;
  /** Which calls get update INFOs: those whose dialog sent a pay INFO (default), or all. */
  updates?: 'calls-that-asked' | 'all-calls';
}

/** Media type of a Content-Type header value, lower case, without parameters. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** A reason phrase from an error text: printable ASCII only (RFC 3261 §25.1 reason-phrase), bounded. */
function reasonPhrase(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, ' ').trim();
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean || 'Bad Request';
}

/** Decides the reply to one INFO (pure apart from running the command). */
export function answerPayInfo(req: PayInfoRequest, payments: PayInfoPayments): { reply: PayInfoReply; action?: string; code?: string } {
  if (mediaType(req.contentType) !== PAY_INFO_CONTENT_TYPE) {
    // An INFO without a body is the legacy keep-alive use (RFC 6086 §4.2.2): answered 200, as without a handler.
    if (req.body.length === 0) return { reply: { status: 200 } };
    return { reply: { status: 415, reason: 'Unsupported Media Type', contentType: 'application/json', body: json({ accept: [PAY_INFO_CONTENT_TYPE] }) } };
  }
  let cmd: PayCommand;
  try {
    if (req.body.length > PAY_INFO_MAX_BODY_BYTES) {
      return badRequest('ESECURE_REQUEST', `payment INFO body of ${req.body.length} bytes exceeds ${PAY_INFO_MAX_BODY_BYTES}`);
    }
    cmd = parsePayInfoBody(req.body, req.callId);
  } catch (err) {
    return badRequest(errorCode(err), errorMessage(err));
  }
  const result = payments.execute(cmd, req.callId);
  const out: { reply: PayInfoReply; action: string; code?: string } = {
    reply: { status: 200, contentType: PAY_INFO_CONTENT_TYPE, body: json(result) },
    action: cmd.action,
  };
  if (!result.ok) out.code = result.error.code;
  return out;
}

function badRequest(code: string, text: string): { reply: PayInfoReply; code: string } {
  // The parse errors never echo values, but a key name can be anything: nothing card-like goes back.
  const message = findCardLikeRun(text) === undefined ? text : 'payment INFO body rejected (the error text was withheld: it looked like card data)';
  return {
    reply: { status: 400, reason: reasonPhrase(message), contentType: PAY_INFO_CONTENT_TYPE, body: json({ ok: false, error: { code, message } }) },
    code,
  };
}

interface Outgoing {
  snapshot: PaySnapshotBody;
  final: boolean;
}

/** Registers the INFO handler on the call manager and sends every session update on its call's dialog. */
export function attachPaySipInfo(opts: PaySipInfoOptions): void {
  const log = opts.log.child('pay-sip-info');
  const all = opts.updates === 'all-calls';
  /** Calls whose dialog has spoken our content type (bounded: forgotten when their session ends). */
  const asked = new Set<string>();
  opts.calls.onInfo((req) => {
    if (mediaType(req.contentType) === PAY_INFO_CONTENT_TYPE) {
      asked.delete(req.callId);
      asked.add(req.callId);
      for (const oldest of asked) {
        if (asked.size <= PAY_INFO_MAX_CALLS) break;
        asked.delete(oldest);
      }
    }
    const { reply, action, code } = answerPayInfo(req, opts.payments);
    log.debug('payment INFO', { callId: req.callId, action, status: reply.status, code });
    return reply;
  });

  const queues = new Map<string, Outgoing[]>();
  const busy = new Set<string>();

  const pump = async (callId: string): Promise<void> => {
    busy.add(callId);
    try {
      for (;;) {
        const q = queues.get(callId);
        const next = q?.shift();
        if (!q || !next) break;
        try {
          const status = await opts.calls.sendInfo(callId, PAY_INFO_CONTENT_TYPE, json(next.snapshot));
          if (status >= 300) log.warn('payment update INFO refused by the agent side', { callId, sessionId: next.snapshot.sessionId, status });
        } catch (err) {
          log.debug('payment update INFO not sent', { callId, sessionId: next.snapshot.sessionId, code: errorCode(err) });
        }
      }
    } finally {
      queues.delete(callId);
      busy.delete(callId);
    }
  };

  opts.payments.onUpdate((snapshot, final) => {
    const callId = snapshot.callId;
    if (!all && !asked.has(callId)) return;
    // After the final update the dialog must speak pay INFO again (a start, a status) to hear of the next session.
    if (final) asked.delete(callId);
    let q = queues.get(callId);
    if (!q) {
      q = [];
      queues.set(callId, q);
    }
    const last = q[q.length - 1];
    if (last && !last.final && last.snapshot.sessionId === snapshot.sessionId) q[q.length - 1] = { snapshot, final };
    else q.push({ snapshot, final });
    // Bounded: drop the oldest non-final entry if a dialog stalls (the newest state is what matters).
    if (q.length > PAY_INFO_MAX_QUEUED) {
      const i = q.findIndex((o) => !o.final);
      q.splice(i >= 0 ? i : 0, 1);
      log.warn('payment update INFO queue full: oldest progress dropped', { callId });
    }
    if (!busy.has(callId)) void pump(callId);
  });
}
