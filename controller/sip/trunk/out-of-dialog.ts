/**
 * Requests outside a dialog that the trunk plumbing sends: OPTIONS keepalives (RFC 3261 §11) and
 * REGISTER (§10.2). Built here as plain messages; the user agent adds the Via and runs the client
 * transaction (with digest retries, RFC 3261 §22).
 */
import { addHeader, newRequest, type SipRequest, type SipResponse } from '../core/messages/message';
import { newTag } from '../core/messages/build';

export interface OutOfDialogRequest {
  method: 'OPTIONS' | 'REGISTER';
  requestUri: string;
  /** To (REGISTER: the address of record, §10.2). */
  toUri: string;
  /** From (REGISTER: the address of record too). */
  fromUri: string;
  /** Kept across REGISTER refreshes (§10.2.4); a new one per OPTIONS. */
  callId: string;
  cseq: number;
  /** Contact header value (REGISTER). */
  contact?: string;
  headers?: Readonly<Record<string, string>>;
}

export interface OutOfDialogResult {
  /** Final status; 408 when no response came (Timer F), 503 on a transport error (RFC 3263 §4.3). */
  status: number;
  reason: string;
  response: SipResponse | undefined;
  /** Request sent → final response, ms (monotonic). */
  rttMs: number;
  /** The transport failure, when that is why there was no response. */
  transportError?: string;
}

export function buildOutOfDialogRequest(r: OutOfDialogRequest, userAgent: string): SipRequest {
  const req = newRequest(r.method, r.requestUri);
  addHeader(req, 'Max-Forwards', '70');
  addHeader(req, 'From', `<${r.fromUri}>;tag=${newTag()}`);
  addHeader(req, 'To', `<${r.toUri}>`);
  addHeader(req, 'Call-ID', r.callId);
  addHeader(req, 'CSeq', `${r.cseq} ${r.method}`);
  if (r.contact !== undefined) addHeader(req, 'Contact', r.contact);
  addHeader(req, 'User-Agent', userAgent);
  if (r.method === 'OPTIONS') addHeader(req, 'Accept', 'application/sdp');
  for (const [name, value] of Object.entries(r.headers ?? {})) addHeader(req, name, value);
  return req;
}
