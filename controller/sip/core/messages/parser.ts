/**
 * SIP message parser and serializer, RFC 3261 §7 (message format), §7.3.1 (header folding),
 * §7.5 (leading CRLFs), §18.3 (Content-Length framing over datagrams), §8.2.2 (mandatory headers).
 *
 * Strict where interoperation depends on it: the start line, mandatory headers (To, From, CSeq,
 * Call-ID, Via; Max-Forwards in requests), CSeq method = request method, Content-Length not beyond
 * the datagram. Tolerant where §7.3.1 and §18.3 say so: any case in names, compact forms, LWS and
 * folding, bare LF line ends, bytes beyond Content-Length discarded, no Content-Length on a datagram
 * means "the rest of the datagram".
 *
 * Every error is a `TonewallError` with code ESIP* naming the bad value.
 */
import { TonewallError, errorMessage } from '../../../../hw/base/errors';
import { sipError } from './sip-error';
import { parseSipUri } from './uri';
import { canonicalHeaderName, isListHeader } from './headers';
import { addHeader, cseq, from, header, to, vias, type SipMessage } from './message';

/** Largest message we accept (a datagram cannot be larger anyway). */
export const MAX_MESSAGE_BYTES = 65535;

const METHOD = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const ONE_PER_LINE = new Set(['via', 'route', 'record-route', 'contact']);
const MANDATORY = ['to', 'from', 'cseq', 'call-id', 'via'] as const;
/** Headers a message carries at most once (§7.3.1: only list headers may repeat; RFC 4475 §3.3.9, §3.3.10). */
const SINGLE = ['to', 'from', 'cseq', 'call-id', 'max-forwards', 'content-length', 'content-type'] as const;

function parseError(code: string, message: string): TonewallError {
  return sipError(code, message);
}

function short(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function findHeaderEnd(buf: Buffer, start: number): { end: number; bodyStart: number } {
  const crlf = buf.indexOf('\r\n\r\n', start, 'latin1');
  const lf = buf.indexOf('\n\n', start, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { end: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { end: lf, bodyStart: lf + 2 };
  // A datagram may end right after the last header line (no body, no empty line): tolerate.
  return { end: buf.length, bodyStart: buf.length };
}

/** Splits header text into logical lines, unfolding continuation lines (§7.3.1). */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(raw) && lines.length > 0) lines[lines.length - 1] += ' ' + raw.trim();
    else lines.push(raw);
  }
  return lines;
}

function parseStartLine(line: string): SipMessage {
  if (/^SIP\//i.test(line)) {
    // Status-Code is exactly 3 digits followed by SP (RFC 3261 §7.2; RFC 4475 §3.1.2.18: 4294967301 is no code).
    const m = /^SIP\/2\.0 +([0-9]{3})(?:[ \t](.*))?$/i.exec(line);
    if (!m) {
      if (/^SIP\/2\.0 /i.test(line)) throw parseError('ESIPSTART', `status line "${short(line)}": expected "SIP/2.0 <3-digit code> <reason>"`);
      throw parseError('ESIPVERSION', `SIP version in "${short(line)}" is not SIP/2.0`);
    }
    const status = Number(m[1]);
    if (status < 100 || status > 699) throw parseError('ESIPSTART', `status code ${status} is outside 100-699`);
    return { kind: 'response', status, reason: (m[2] ?? '').trim(), headers: [], body: Buffer.alloc(0) };
  }
  const parts = line.split(' ');
  if (parts.length !== 3) throw parseError('ESIPSTART', `request line "${short(line)}": expected "<method> <Request-URI> SIP/2.0" with single spaces`);
  const [method, uri, version] = parts as [string, string, string];
  if (!METHOD.test(method)) throw parseError('ESIPSTART', `method "${short(method)}" is not a token`);
  if (version.toUpperCase() !== 'SIP/2.0') throw parseError('ESIPVERSION', `SIP version "${short(version)}" is not SIP/2.0`);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/.test(uri)) throw parseError('ESIPSTART', `Request-URI "${short(uri)}" is not an absolute URI`);
  if (/^sips?:/i.test(uri)) {
    // A sip:/sips: Request-URI must parse as one (RFC 5118 §4.2: an unbracketed IPv6 host is not a
    // host:port) and carries no headers (§19.1.1 table: "headers" not allowed in a Request-URI;
    // RFC 4475 §3.1.2.11).
    let parsed;
    try {
      parsed = parseSipUri(uri);
    } catch (err) {
      throw parseError('ESIPSTART', `Request-URI: ${errorMessage(err)}`);
    }
    if (parsed.headers !== undefined) throw parseError('ESIPSTART', `Request-URI "${short(uri)}" carries headers ("?${short(parsed.headers)}"), which a Request-URI may not`);
  }
  return { kind: 'request', method, uri, headers: [], body: Buffer.alloc(0) };
}

/** Parses one SIP message from a datagram. */
export function parseMessage(buf: Buffer): SipMessage {
  if (buf.length > MAX_MESSAGE_BYTES) throw parseError('ESIPSIZE', `message of ${buf.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++; // §7.5
  if (start >= buf.length) throw parseError('ESIPEMPTY', 'empty message (only line breaks)');
  const { end, bodyStart } = findHeaderEnd(buf, start);
  const lines = logicalLines(buf.toString('utf8', start, end));
  const msg = parseStartLine(lines[0] ?? '');
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw parseError('ESIPHEADER', `header line "${short(line)}" has no "name:"`);
    addHeader(msg, line.slice(0, colon).trim(), line.slice(colon + 1));
  }
  for (const name of MANDATORY) {
    if (header(msg, name) === undefined) throw parseError('ESIPMISSING', `missing mandatory header ${canonicalHeaderName(name)}`);
  }
  for (const name of SINGLE) {
    const n = msg.headers.reduce((k, h) => k + (h.name === name ? 1 : 0), 0);
    if (n > 1) throw parseError('ESIPDUPLICATE', `header ${canonicalHeaderName(name)} appears ${n} times; it may appear once`);
  }
  // Max-Forwards is required of UACs (§8.1.1.6) but only proxies act on it (§16.3): a request
  // without it (an RFC 2543 peer, RFC 4475 §3.4.1) is accepted; when present it must be a number.
  const maxForwards = header(msg, 'max-forwards');
  if (maxForwards !== undefined && !/^[0-9]{1,10}$/.test(maxForwards)) throw parseError('ESIPHEADER', `Max-Forwards "${short(maxForwards)}" is not a decimal number`);
  // The headers every transaction and dialog decision reads are validated here, so a malformed one
  // is rejected at the edge with its name in the error (RFC 4475 §3.1.2 cases) rather than later.
  from(msg);
  to(msg);
  vias(msg);
  const cs = cseq(msg);
  if (msg.kind === 'request' && cs.method !== msg.method) {
    throw parseError('ESIPCSEQ', `CSeq method "${cs.method}" does not match request method "${msg.method}"`);
  }
  const available = buf.length - bodyStart;
  const clText = header(msg, 'content-length');
  let bodyLength = available;
  if (clText !== undefined) {
    if (!/^[0-9]{1,10}$/.test(clText)) throw parseError('ESIPLENGTH', `Content-Length "${short(clText)}" is not a decimal number`);
    bodyLength = Number(clText);
    if (bodyLength > available) throw parseError('ESIPLENGTH', `Content-Length ${bodyLength} exceeds body length ${available}`);
  }
  msg.body = Buffer.from(buf.subarray(bodyStart, bodyStart + bodyLength));
  return msg;
}

/** Serializes a message; Content-Length is always written from the body (§20.14). */
export function serializeMessage(msg: SipMessage): Buffer {
  const start = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  const lines = [start];
  let prev = '';
  for (const h of msg.headers) {
    if (h.name === 'content-length') continue;
    // Consecutive values of a list header share one line ("Allow: INVITE, ACK"), except the
    // routing headers, which read better one per line (both forms are equal, §7.3.1).
    if (h.name === prev && isListHeader(h.name) && !ONE_PER_LINE.has(h.name) && h.value !== '') {
      lines[lines.length - 1] += `, ${h.value}`;
      continue;
    }
    lines.push(`${canonicalHeaderName(h.name)}: ${h.value}`);
    prev = h.name;
  }
  lines.push(`Content-Length: ${msg.body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), msg.body]);
}
