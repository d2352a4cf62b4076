/**
 * The agent's payment commands as one tagged union, parsed from the MQTT rpc payloads
 * (`pay.start`, `pay.clear_field`, `pay.cancel`, `pay.status`, DESIGN.md §6) or from a SIP INFO body
 * on the call's dialog (`Content-Type: application/vnd.tonewall.pay+json`, docs/payments.md §3), and
 * executed against the `PaymentManager` with a `{ ok: true, data } | { ok: false, error }` reply.
 * Error texts name the problem, never a value that could be card data.
 */
import { z } from 'zod';
import { findCardLikeRun } from '../../hw/base/card-guard';
import { errorCode, errorMessage, TonewallError } from '../../hw/base/errors';
import type { PaymentManager } from './payment-manager';
import { paymentClearFieldSchema, paymentSessionCommandSchema, parsePaymentRequest } from './payment-request';
import type { SecureUplink } from './payment-session';
import type { PaymentField } from './field-rules';
import type { PaymentRequest, PaymentSnapshot } from './payment-types';

export type PayCommand =
  | { action: 'start'; request: PaymentRequest }
  | { action: 'clear_field'; sessionId: string; field?: PaymentField }
  | { action: 'cancel'; sessionId: string }
  | { action: 'status'; sessionId: string };

export type PayAction = PayCommand['action'];
export const PAY_ACTIONS: readonly PayAction[] = ['start', 'clear_field', 'cancel', 'status'];

export type PayReply = { ok: true; data: PaymentSnapshot } | { ok: false; error: { code: string; message: string } };

/** Every issue by path; an issue whose text carries something card-like (an unknown key can be anything) is withheld. */
function issues(e: z.ZodError): string {
  return e.issues
    .map((i) => {
      const text = `${i.path.join('.') || '(root)'}: ${i.message}`;
      return findCardLikeRun(text) === undefined ? text : `(an issue withheld: its text looked like card data)`;
    })
    .join('; ');
}

/** Parses the parameters of `pay.{action}` (MQTT method name without the `pay.` prefix). */
export function parsePayCommand(action: string, params: unknown): PayCommand {
  switch (action) {
    case 'start':
      return { action, request: parsePaymentRequest(params) };
    case 'clear_field': {
      const r = paymentClearFieldSchema.safeParse(params);
      if (!r.success) throw new TonewallError('ESECURE_REQUEST', `pay.clear_field parameters rejected: ${issues(r.error)}`);
      return r.data.field === undefined ? { action, sessionId: r.data.sessionId } : { action, sessionId: r.data.sessionId, field: r.data.field };
    }
    case 'cancel':
    case 'status': {
      const r = paymentSessionCommandSchema.safeParse(params);
      if (!r.success) throw new TonewallError('ESECURE_REQUEST', `pay.${action} parameters rejected: ${issues(r.error)}`);
      return { action, sessionId: r.data.sessionId };
    }
    default:
      throw new TonewallError('ESECURE_ACTION', `payment action "${action.slice(0, 32)}" is not one of ${PAY_ACTIONS.join(', ')}`);
  }
}

/**
 * Parses a SIP INFO body `{ "action": …, …parameters }`; for `start` the call id is the dialog's
 * (any callId in the body must match it).
 */
export function parsePayInfoBody(body: Uint8Array, dialogCallId: string): PayCommand {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    throw new TonewallError('ESECURE_REQUEST', `payment INFO body of ${body.length} bytes is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TonewallError('ESECURE_REQUEST', 'payment INFO body is not a JSON object');
  const { action, ...params } = json as Record<string, unknown>;
  if (typeof action !== 'string') throw new TonewallError('ESECURE_REQUEST', `payment INFO body needs "action" (one of ${PAY_ACTIONS.join(', ')})`);
  if (action === 'start') {
    if (params.callId !== undefined && params.callId !== dialogCallId) throw new TonewallError('ESECURE_REQUEST', 'payment INFO callId does not match the dialog');
    return parsePayCommand(action, { ...params, callId: dialogCallId });
  }
  return parsePayCommand(action, params);
}

/**
 * Runs a command; `uplinkOf(callId)` finds the live call's UplinkDsp (undefined: no such call).
 * `fromCallId` (SIP INFO: the dialog's call) confines session commands to that call's sessions; a
 * session of another call is answered exactly like one that does not exist.
 */
export function executePayCommand(manager: PaymentManager, cmd: PayCommand, uplinkOf: (callId: string) => SecureUplink | undefined, fromCallId?: string): PayReply {
  try {
    if (fromCallId !== undefined && cmd.action !== 'start' && ownerOf(manager, cmd.sessionId) !== fromCallId) {
      throw new TonewallError('ESECURE_UNKNOWN_SESSION', `payment session ${cmd.sessionId} is not known on call ${fromCallId}`);
    }
    switch (cmd.action) {
      case 'start': {
        const uplink = uplinkOf(cmd.request.callId);
        if (!uplink) throw new TonewallError('ESECURE_NO_CALL', `call ${cmd.request.callId} is not up`);
        return { ok: true, data: manager.start(cmd.request, uplink) };
      }
      case 'clear_field':
        return { ok: true, data: manager.clearField(cmd.sessionId, cmd.field) };
      case 'cancel':
        return { ok: true, data: manager.cancel(cmd.sessionId) };
      case 'status':
        return { ok: true, data: manager.status(cmd.sessionId) };
    }
  } catch (err) {
    return { ok: false, error: { code: errorCode(err), message: errorMessage(err) } };
  }
}

function ownerOf(manager: PaymentManager, sessionId: string): string | undefined {
  try {
    return manager.status(sessionId).callId;
  } catch {
    return undefined;
  }
}
