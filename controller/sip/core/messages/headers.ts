/**
 * Header names and value lists, RFC 3261 §7.3 and §20.
 *
 * - Names are case-insensitive (§7.3.1); we key headers by the lower-case long form and print the
 *   canonical spelling. Compact forms (§7.3.3, Table 2 in §20) expand to the long form.
 * - Headers whose grammar is a comma-separated list (§7.3.1) are split into one entry per value, on
 *   commas outside double quotes and outside <angle brackets>. Headers whose values may contain
 *   commas (Date, the auth headers, …) are never split.
 */
import { sipError } from './sip-error';

/** §7.3.3 compact forms, plus the ones later RFCs registered that we are likely to meet. */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  f: 'from',
  t: 'to',
  v: 'via',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
};

const CANONICAL: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'rack': 'RAck',
  'rseq': 'RSeq',
};

/** Headers with list grammar (§20): `Name: a, b` is the same as two `Name:` lines. */
const LIST_HEADERS = new Set([
  'via', 'contact', 'route', 'record-route', 'allow', 'supported', 'require', 'proxy-require', 'unsupported',
  'accept', 'accept-encoding', 'accept-language', 'content-encoding', 'content-language', 'allow-events',
  'in-reply-to', 'alert-info', 'call-info', 'error-info', 'warning', 'reason', 'path', 'service-route',
]);

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** The lower-case long name for a header name as received (compact forms expanded). */
export function normalizeHeaderName(name: string): string {
  if (!TOKEN.test(name)) throw sipError('ESIPHEADER', `header name "${name}" is not a token (RFC 3261 §25.1)`);
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** The canonical spelling for printing: "call-id" → "Call-ID", "max-forwards" → "Max-Forwards". */
export function canonicalHeaderName(lower: string): string {
  const known = CANONICAL[lower];
  if (known) return known;
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export function isListHeader(lowerName: string): boolean {
  return LIST_HEADERS.has(lowerName);
}

/**
 * Splits a list header value on commas outside quotes and angle brackets (§7.3.1). Empty elements
 * are an error naming the value. A backslash escapes the next character inside a quoted string.
 */
export function splitHeaderList(value: string, name: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') inQuote = true;
    else if (c === '<') inAngle = true;
    else if (c === '>') inAngle = false;
    else if (c === ',' && !inAngle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (inQuote) throw sipError('ESIPHEADER', `${canonicalHeaderName(name)} value "${value}" has an unterminated quoted string`);
  out.push(value.slice(start).trim());
  if (out.some((v) => v === '')) throw sipError('ESIPHEADER', `${canonicalHeaderName(name)} value "${value}" has an empty list element`);
  return out;
}
