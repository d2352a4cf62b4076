/**
 * SIP URI parse/format, RFC 3261 §19.1 (sip:/sips: URIs) and §25.1 (grammar).
 *
 *   sip:user:password@host:port;uri-parameters?headers
 *
 * Contract: `parseSipUri` accepts what the grammar accepts (IPv6 references in brackets, escaped
 * user parts, parameters without values) and throws `TonewallError('ESIPURI', …)` naming the bad
 * text otherwise. Scheme and parameter names are compared case-insensitively (§19.1.4) and kept in
 * lower case; the user part is case-sensitive and kept as written.
 */
import { isIPv6 } from 'node:net';
import { TonewallError } from '../../../../hw/base/errors';
import { sipError } from './sip-error';

export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  password: string | undefined;
  /** Host without brackets for IPv6 (see `ipv6`). */
  host: string;
  ipv6: boolean;
  port: number | undefined;
  /** uri-parameters in order; a parameter without value maps to null. Names lower-cased. */
  params: Map<string, string | null>;
  /** ?headers part, raw (hname=hvalue pairs, still escaped). */
  headers: string | undefined;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const TOKEN_PARAM = /^[A-Za-z0-9\-_.!~*'()[\]/:&+$%`]+$/;

function uriError(text: string, why: string): TonewallError {
  return sipError('ESIPURI', `SIP URI "${text}": ${why}`);
}

/** Parses host[:port] (§25.1 hostport). */
export function parseHostPort(text: string, whole: string = text): { host: string; ipv6: boolean; port: number | undefined } {
  let host: string;
  let rest: string;
  let ipv6 = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw uriError(whole, `IPv6 reference "${text}" lacks the closing "]"`);
    host = text.slice(1, close);
    rest = text.slice(close + 1);
    ipv6 = true;
    // RFC 4291 §2.2 text forms (RFC 5118 §4.10: the 3-colon form the RFC 3261 ABNF let through is not one).
    if (!isIPv6(host)) throw uriError(whole, `"${host}" is not an IPv6 address`);
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? '' : text.slice(colon);
    if (!HOSTNAME.test(host)) throw uriError(whole, `host "${host}" is not a hostname or IPv4 address`);
  }
  let port: number | undefined;
  if (rest !== '') {
    if (!/^:[0-9]{1,5}$/.test(rest)) throw uriError(whole, `port "${rest.slice(1)}" is not a number 0-65535`);
    port = Number(rest.slice(1));
    if (port > 65535) throw uriError(whole, `port ${port} exceeds 65535`);
  }
  return { host, ipv6, port };
}

/** Splits `;a=b;c` into a map (names lower-cased). */
export function parseParams(text: string, whole: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  if (text === '') return params;
  for (const part of text.split(';')) {
    if (part === '') throw uriError(whole, 'empty parameter (";;")');
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? null : part.slice(eq + 1).trim();
    if (!TOKEN_PARAM.test(name)) throw uriError(whole, `parameter name "${name}" is not a token`);
    if (value !== null && value !== '' && !TOKEN_PARAM.test(value)) throw uriError(whole, `parameter ${name} value "${value}" has characters outside the URI grammar`);
    params.set(name, value);
  }
  return params;
}

export function parseSipUri(text: string): SipUri {
  const colon = text.indexOf(':');
  if (colon < 0) throw uriError(text, 'expected "sip:" or "sips:"');
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') throw uriError(text, `scheme "${text.slice(0, colon)}" is not sip or sips`);
  let rest = text.slice(colon + 1);
  if (/[\s<>"]/.test(rest)) throw uriError(text, 'contains whitespace, "<", ">" or a quote');
  let user: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = userinfo.indexOf(':');
    user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    password = pc < 0 ? undefined : userinfo.slice(pc + 1);
    if (user === '') throw uriError(text, 'empty user part before "@"');
    if (/%(?![0-9A-Fa-f]{2})/.test(userinfo)) throw uriError(text, `user part "${userinfo}" has a bad %-escape`);
  }
  let headers: string | undefined;
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  // The host part ends at the first ';' after an optional [IPv6] reference.
  const bracketEnd = rest.startsWith('[') ? rest.indexOf(']') : -1;
  const semi = rest.indexOf(';', bracketEnd + 1);
  const hostport = semi < 0 ? rest : rest.slice(0, semi);
  const paramText = semi < 0 ? '' : rest.slice(semi + 1);
  if (hostport === '') throw uriError(text, 'missing host');
  const hp = parseHostPort(hostport, text);
  return { scheme, user, password, host: hp.host, ipv6: hp.ipv6, port: hp.port, params: parseParams(paramText, text), headers };
}

export function formatHostPort(host: string, port: number | undefined, ipv6 = host.includes(':')): string {
  const h = ipv6 ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

export function formatParams(params: ReadonlyMap<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

export function formatSipUri(uri: SipUri): string {
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) out += uri.password !== undefined ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
  out += formatHostPort(uri.host, uri.port, uri.ipv6);
  out += formatParams(uri.params);
  if (uri.headers !== undefined) out += `?${uri.headers}`;
  return out;
}
