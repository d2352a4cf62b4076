/**
 * Builders for the things every UA needs: responses (§8.2.6.2), branch ids (§8.1.1.7), tags
 * (§19.3) and Call-IDs (§8.1.1.4). Randomness from node:crypto.
 */
import { randomBytes } from 'node:crypto';
import { addHeader, headerValues, header, type HeaderField, type SipRequest, type SipResponse } from './message';
import { formatNameAddr, parseNameAddr } from './name-addr';
import { BRANCH_COOKIE } from './via';

/** Standard reason phrases for the codes we send (§21). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 400: 'Bad Request', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 415: 'Unsupported Media Type',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 486: 'Busy Here',
  487: 'Request Terminated', 488: 'Not Acceptable Here', 500: 'Server Internal Error', 503: 'Service Unavailable',
  603: 'Decline',
};

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * `length` random letters (5.7 bits each). Identifiers are letters only: hex ids hold digit runs,
 * and about 0.13 % of 24-hex-digit Call-IDs carry a Luhn-valid 13–19 digit run that the card-data
 * guard (rightly) refuses in logs, CDR events and MQTT, losing the call's records.
 */
export function randomLetters(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      // 208 = 4 × 52: bytes above it are dropped so every letter is equally likely.
      if (b < 208 && out.length < length) out += LETTERS[b % 52] ?? '';
    }
  }
  return out;
}

/** §8.1.1.7: the magic cookie and 69 random bits. */
export function newBranch(): string {
  return BRANCH_COOKIE + randomLetters(12);
}

/** §19.3: 57 random bits. */
export function newTag(): string {
  return randomLetters(10);
}

/** §8.1.1.4: 125 random bits at our host. */
export function newCallId(host: string): string {
  return `${randomLetters(22)}@${host}`;
}

export interface ResponseOptions {
  /** Added to To when it has no tag yet (required for every response but 100, §8.2.6.2). */
  toTag?: string;
  headers?: HeaderField[];
  body?: Buffer;
}

/** Builds a response to `req`: Via (all, in order), From, To (+tag), Call-ID, CSeq copied. */
export function buildResponse(req: SipRequest, status: number, reason?: string, opts: ResponseOptions = {}): SipResponse {
  const res: SipResponse = { kind: 'response', status, reason: reason ?? REASON_PHRASES[status] ?? 'Unknown', headers: [], body: opts.body ?? Buffer.alloc(0) };
  for (const v of headerValues(req, 'via')) res.headers.push({ name: 'via', value: v });
  const toValue = header(req, 'to') ?? '';
  let toOut = toValue;
  if (opts.toTag !== undefined && status !== 100) {
    const na = parseNameAddr(toValue);
    if (!na.params.has('tag')) {
      na.params.set('tag', opts.toTag);
      toOut = formatNameAddr(na);
    }
  }
  addHeader(res, 'From', header(req, 'from') ?? '');
  addHeader(res, 'To', toOut);
  addHeader(res, 'Call-ID', header(req, 'call-id') ?? '');
  addHeader(res, 'CSeq', header(req, 'cseq') ?? '');
  for (const h of opts.headers ?? []) res.headers.push(h);
  return res;
}
