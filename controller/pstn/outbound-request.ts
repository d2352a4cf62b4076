/**
 * Checks of an OutboundCallRequest shared by every trunk: the only reasons `placeCall` throws
 * (PstnDialer contract, types.ts). Everything else (no channel, no D channel) becomes a release.
 */
import { TonewallError } from '../../hw/base/errors';
import type { OutboundCallRequest } from './types';

/** Digits a called number may carry toward any trunk (Q.931 IA5 digits, DTMF keys; ',' = 1 s pause on analog lines). */
const CALLED = /^[0-9*#]{1,32}$/;

export interface TrunkName {
  kind: 'span' | 'port' | 'cas';
  n: number;
}

/** Parses `span/N`, `port/N` or `cas/N` (N ≥ 1). */
export function parseTrunkName(trunk: string): TrunkName {
  const m = /^(span|port|cas)\/([1-9][0-9]{0,3})$/.exec(trunk);
  if (!m) throw new TonewallError('EPSTN_REQUEST', `trunk "${trunk}" is not one of span/N, port/N, cas/N (N ≥ 1)`);
  return { kind: m[1] as TrunkName['kind'], n: Number(m[2]) };
}

/** Throws a TonewallError naming the bad field; returns the parsed trunk name, if any. */
export function checkOutboundRequest(request: OutboundCallRequest): TrunkName | undefined {
  if (!CALLED.test(request.calledNumber)) {
    throw new TonewallError('EPSTN_REQUEST', `called number of ${request.calledNumber.length} characters is not 1..32 of 0-9 * #`);
  }
  if (request.callingNumber !== undefined && !/^[0-9*#]{0,32}$/.test(request.callingNumber)) {
    throw new TonewallError('EPSTN_REQUEST', `calling number of ${request.callingNumber.length} characters is not 0..32 of 0-9 * #`);
  }
  return request.trunk === undefined ? undefined : parseTrunkName(request.trunk);
}
