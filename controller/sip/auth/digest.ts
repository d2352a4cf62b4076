/**
 * HTTP Digest for SIP, client side: RFC 3261 §22.4 (SIP's use of RFC 2617), RFC 7616 §3.4 (the
 * response with qop=auth, nc and cnonce; SHA-256) and RFC 8760 §2 (SHA-256 and SHA-512-256 in
 * SIP; MD5 kept for old servers). Pure functions: parse a challenge, compute the response, format
 * the Authorization / Proxy-Authorization value.
 *
 *   HA1 = H(username ":" realm ":" password)             (algorithm X; X-sess: H(HA1 ":" nonce ":" cnonce))
 *   HA2 = H(method ":" digest-uri)                       (qop=auth; auth-int is not offered by us)
 *   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)    with qop
 *   response = H(HA1 ":" nonce ":" HA2)                               without qop (RFC 2069 compatibility)
 */
import { createHash } from 'node:crypto';
import { TonewallError } from '../../../hw/base/errors';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

const ALGORITHMS: Readonly<Record<string, DigestAlgorithm>> = {
  'md5': 'MD5', 'md5-sess': 'MD5-sess', 'sha-256': 'SHA-256', 'sha-256-sess': 'SHA-256-sess',
  'sha-512-256': 'SHA-512-256', 'sha-512-256-sess': 'SHA-512-256-sess',
};

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: DigestAlgorithm;
  /** The qop options offered (empty: RFC 2069 style, no qop). */
  qop: string[];
  /** RFC 7616 §3.3: the nonce was stale; retry with the new one without asking for new credentials. */
  stale: boolean;
}

/** Splits `a=b, c="d, e"` into a map (names lower-cased; quoted values unescaped). */
export function parseAuthParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new TonewallError('ESIPAUTH', `auth parameters "${text.slice(0, 120)}": expected name=value pairs at offset ${pos}`);
    const name = (m[1] ?? '').toLowerCase();
    out.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
    pos = re.lastIndex;
  }
  return out;
}

/** Parses one WWW-Authenticate / Proxy-Authenticate value (RFC 7616 §3.3). */
export function parseChallenge(value: string): DigestChallenge {
  const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(value);
  if (!m || (m[1] ?? '').toLowerCase() !== 'digest') {
    throw new TonewallError('ESIPAUTH', `challenge "${value.slice(0, 80)}": expected the Digest scheme`);
  }
  const p = parseAuthParams(m[2] ?? '');
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) throw new TonewallError('ESIPAUTH', `Digest challenge "${value.slice(0, 120)}": realm and nonce are required`);
  const algText = (p.get('algorithm') ?? 'MD5').toLowerCase();
  const algorithm = ALGORITHMS[algText];
  if (algorithm === undefined) throw new TonewallError('ESIPAUTH', `Digest algorithm "${p.get('algorithm') ?? ''}" is not one of MD5, SHA-256, SHA-512-256 (and -sess)`);
  const qop = (p.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase()).filter((q) => q !== '');
  return { realm, nonce, opaque: p.get('opaque'), algorithm, qop, stale: (p.get('stale') ?? '').toLowerCase() === 'true' };
}

function hashName(alg: DigestAlgorithm): string {
  if (alg.startsWith('MD5')) return 'md5';
  if (alg.startsWith('SHA-512-256')) return 'sha512-256';
  return 'sha256';
}

export function digestHash(alg: DigestAlgorithm, text: string): string {
  return createHash(hashName(alg)).update(text, 'utf8').digest('hex');
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  /** 'auth' or undefined (no qop offered). */
  qop: 'auth' | undefined;
  /** 8 hex digits, e.g. 00000001. */
  nc: string;
  cnonce: string;
}

/** The request-digest of RFC 7616 §3.4.1 (RFC 2617 §3.2.2.1 without qop). */
export function digestResponse(i: DigestInput): string {
  const H = (s: string): string => digestHash(i.algorithm, s);
  let ha1 = H(`${i.username}:${i.realm}:${i.password}`);
  if (i.algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${i.nonce}:${i.cnonce}`);
  const ha2 = H(`${i.method}:${i.uri}`);
  return i.qop === undefined ? H(`${ha1}:${i.nonce}:${ha2}`) : H(`${ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`);
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The credentials value (RFC 7616 §3.4) for an Authorization or Proxy-Authorization header. */
export function formatAuthorization(ch: DigestChallenge, i: DigestInput): string {
  const parts = [
    `username=${quote(i.username)}`,
    `realm=${quote(ch.realm)}`,
    `nonce=${quote(ch.nonce)}`,
    `uri=${quote(i.uri)}`,
    `response=${quote(digestResponse(i))}`,
    `algorithm=${ch.algorithm}`,
  ];
  if (ch.opaque !== undefined) parts.push(`opaque=${quote(ch.opaque)}`);
  if (i.qop !== undefined) parts.push(`qop=${i.qop}`, `nc=${i.nc}`, `cnonce=${quote(i.cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
