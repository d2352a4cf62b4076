/**
 * The SIP message model, RFC 3261 §7: a request or response, an ordered header list and a body.
 *
 * Headers are kept in order as `{ name, value }` with `name` the lower-case long form; list headers
 * (§7.3.1) hold one entry per value. Typed accessors parse on demand and throw `TonewallError`
 * naming the header when it is missing or malformed.
 */
import { sipError } from './sip-error';
import { canonicalHeaderName, isListHeader, normalizeHeaderName, splitHeaderList } from './headers';
import { parseNameAddr, type NameAddr } from './name-addr';
import { parseVia, type Via } from './via';

export interface HeaderField {
  name: string;
  value: string;
}

interface MessageBase {
  headers: HeaderField[];
  body: Buffer;
}

export interface SipRequest extends MessageBase {
  kind: 'request';
  method: string;
  uri: string;
}

export interface SipResponse extends MessageBase {
  kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export interface CSeq {
  seq: number;
  method: string;
}

/** All values of a header (compact names accepted), in order. */
export function headerValues(msg: SipMessage, name: string): string[] {
  const key = normalizeHeaderName(name);
  return msg.headers.filter((h) => h.name === key).map((h) => h.value);
}

/** The first value of a header, or undefined. */
export function header(msg: SipMessage, name: string): string | undefined {
  const key = normalizeHeaderName(name);
  return msg.headers.find((h) => h.name === key)?.value;
}

function required(msg: SipMessage, name: string): string {
  const v = header(msg, name);
  if (v === undefined) throw sipError('ESIPMISSING', `missing mandatory header ${canonicalHeaderName(normalizeHeaderName(name))}`);
  return v;
}

/** Appends a header, splitting list values. */
export function addHeader(msg: SipMessage, name: string, value: string): void {
  const key = normalizeHeaderName(name);
  // An empty list is legal for some list headers (Supported, Allow, Accept: §20): keep it as one empty value.
  // LWS is SP / HTAB (§25.1); String#trim would also strip characters a value may hold (U+FEFF, RFC 4475 §3.1.1.2).
  const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
  const values = isListHeader(key) && v !== '' ? splitHeaderList(v, key) : [v];
  for (const v of values) msg.headers.push({ name: key, value: v });
}

/** Replaces every value of a header with one value. */
export function setHeader(msg: SipMessage, name: string, value: string): void {
  removeHeader(msg, name);
  addHeader(msg, name, value);
}

export function removeHeader(msg: SipMessage, name: string): void {
  const key = normalizeHeaderName(name);
  msg.headers = msg.headers.filter((h) => h.name !== key);
}

export function callId(msg: SipMessage): string {
  return required(msg, 'call-id');
}

export function parseCSeq(value: string): CSeq {
  const m = /^\s*([0-9]{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*$/.exec(value);
  const seq = m ? Number(m[1]) : NaN;
  // §8.1.1.5: the sequence number is a 32-bit unsigned integer below 2**31.
  if (!m || !(seq < 2 ** 31)) throw sipError('ESIPHEADER', `CSeq "${value}": expected "<number below 2^31> <method>"`);
  return { seq, method: m[2] ?? '' };
}

export function cseq(msg: SipMessage): CSeq {
  return parseCSeq(required(msg, 'cseq'));
}

export function from(msg: SipMessage): NameAddr {
  return parseNameAddr(required(msg, 'from'));
}

export function to(msg: SipMessage): NameAddr {
  return parseNameAddr(required(msg, 'to'));
}

export function vias(msg: SipMessage): Via[] {
  return headerValues(msg, 'via').map(parseVia);
}

export function topVia(msg: SipMessage): Via {
  return parseVia(required(msg, 'via'));
}

/** The request's method or the method the response answers (from CSeq). */
export function methodOf(msg: SipMessage): string {
  return msg.kind === 'request' ? msg.method : cseq(msg).method;
}

export function newRequest(method: string, uri: string, headers: HeaderField[] = [], body: Buffer = Buffer.alloc(0)): SipRequest {
  return { kind: 'request', method, uri, headers, body };
}
