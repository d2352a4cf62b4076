/**
 * Digest authentication at the edge for sources outside the allow list (sip.edge.authenticateUnknown;
 * RFC 3261 §22.4 as a UAS, RFC 7616 with qop=auth, RFC 8760 SHA-256 and MD5).
 *
 *   no Authorization / another realm            → challenge (401), not a failure
 *   nonce not ours                               → challenge, a failure
 *   nonce older than nonceTtlMs, digest right    → challenge with stale=true, not a failure
 *   unknown user, wrong digest, qop ≠ auth,
 *   digest-uri not the Request-URI's resource,
 *   nc not increasing                            → challenge, a failure (the edge bans after maxFailures)
 *   right                                        → admitted (the user's name)
 *
 * Nonces are stateless: `<issued ms, base 36>.<HMAC-SHA256(secret, issued:realm), 32 hex>` with a
 * per-process secret (a restart makes old nonces stale). The highest nonce-count seen per nonce is
 * kept (bounded) so a captured Authorization cannot be replayed. ACK and CANCEL cannot be
 * challenged (§22.1): the caller drops them from unauthenticated sources.
 *
 * Passwords and digests never leave this module: results carry the username and a reason only.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../../hw/base/clock';
import { parseAuthParams, digestResponse } from '../auth/digest';
import { buildResponse, newTag } from '../core/messages/build';
import { addHeader, header, type SipRequest, type SipResponse } from '../core/messages/message';
import { parseSipUri } from '../core/messages/uri';

export interface DigestGateOptions {
  realm: string;
  algorithms: readonly ('SHA-256' | 'MD5')[];
  /** username → password. */
  users: ReadonlyMap<string, string>;
  nonceTtlMs: number;
  clock: Clock;
  /** HMAC key for nonces (tests); default: 32 random bytes. */
  secret?: Buffer;
}

export type GateResult =
  | { kind: 'ok'; username: string }
  | { kind: 'challenge'; stale: boolean; failure: boolean; reason: string; username?: string };

const MAX_NONCES = 10_000;

/**
 * The digest-uri names the Request-URI (RFC 7616 §3.4.6): the same text, or (as several UACs
 * send, sipp among them) the same scheme, host and port without a user part. A user part that
 * differs from the Request-URI's is refused.
 */
function sameResource(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  try {
    const d = parseSipUri(digestUri);
    const r = parseSipUri(requestUri);
    if (d.user !== undefined && d.user !== r.user) return false;
    return d.scheme === r.scheme && d.host.toLowerCase() === r.host.toLowerCase() && (d.port ?? 5060) === (r.port ?? 5060);
  } catch {
    return false;
  }
}

export class DigestGate {
  private readonly secret: Buffer;
  private readonly seenNc = new Map<string, number>();

  constructor(private readonly o: DigestGateOptions) {
    this.secret = o.secret ?? randomBytes(32);
  }

  newNonce(): string {
    const issued = this.o.clock.now().toString(36);
    return `${issued}.${this.mac(issued)}`;
  }

  /** The 401 with one WWW-Authenticate per configured algorithm (strongest first). */
  challenge(req: SipRequest, stale: boolean, agent: string): SipResponse {
    const res = buildResponse(req, 401, 'Unauthorized', { toTag: newTag() });
    const nonce = this.newNonce();
    for (const alg of this.o.algorithms) {
      addHeader(res, 'WWW-Authenticate', `Digest realm="${this.o.realm}", nonce="${nonce}", algorithm=${alg}, qop="auth"${stale ? ', stale=true' : ''}`);
    }
    addHeader(res, 'User-Agent', agent);
    return res;
  }

  verify(req: SipRequest): GateResult {
    const authz = header(req, 'authorization');
    if (authz === undefined) return { kind: 'challenge', stale: false, failure: false, reason: 'no credentials' };
    const m = /^\s*Digest\s+(.*)$/is.exec(authz);
    if (!m) return { kind: 'challenge', stale: false, failure: true, reason: 'Authorization is not Digest' };
    let p: Map<string, string>;
    try {
      p = parseAuthParams(m[1] ?? '');
    } catch {
      return { kind: 'challenge', stale: false, failure: true, reason: 'Authorization parameters do not parse' };
    }
    const username = p.get('username');
    if (p.get('realm') !== this.o.realm) return { kind: 'challenge', stale: false, failure: false, reason: `credentials for another realm`, ...(username ? { username } : {}) };
    const who = username ? { username } : {};
    const fail = (reason: string): GateResult => ({ kind: 'challenge', stale: false, failure: true, reason, ...who });
    const password = username === undefined ? undefined : this.o.users.get(username);
    if (password === undefined) return fail('unknown user');
    const algText = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const algorithm = this.o.algorithms.find((a) => a === algText);
    if (!algorithm) return fail(`algorithm ${algText.slice(0, 20)} not offered`);
    const nonce = p.get('nonce') ?? '';
    const issuedMs = this.nonceIssued(nonce);
    if (issuedMs === undefined) return fail('nonce not issued here');
    if (p.get('qop')?.toLowerCase() !== 'auth') return fail('qop is not auth');
    const nc = p.get('nc') ?? '';
    const cnonce = p.get('cnonce') ?? '';
    if (!/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === '') return fail('nc or cnonce missing');
    const uri = p.get('uri') ?? '';
    if (!sameResource(uri, req.uri)) return fail('digest-uri is not the Request-URI');
    const expected = digestResponse({ algorithm, username: username ?? '', password, realm: this.o.realm, nonce, method: req.method, uri, qop: 'auth', nc, cnonce });
    const got = Buffer.from((p.get('response') ?? '').toLowerCase());
    const want = Buffer.from(expected);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return fail('wrong credentials');
    if (this.o.clock.now() - issuedMs > this.o.nonceTtlMs) return { kind: 'challenge', stale: true, failure: false, reason: 'stale nonce', ...who };
    const count = parseInt(nc, 16);
    const last = this.seenNc.get(nonce) ?? 0;
    if (count <= last) return fail('nonce count not increasing (replay)');
    this.seenNc.delete(nonce);
    this.seenNc.set(nonce, count);
    while (this.seenNc.size > MAX_NONCES) {
      const oldest = this.seenNc.keys().next();
      if (oldest.done === true) break;
      this.seenNc.delete(oldest.value);
    }
    return { kind: 'ok', username: username ?? '' };
  }

  private mac(issued: string): string {
    return createHmac('sha256', this.secret).update(`${issued}:${this.o.realm}`).digest('hex').slice(0, 32);
  }

  /** The issue time of a nonce we made, else undefined. */
  private nonceIssued(nonce: string): number | undefined {
    const m = /^([0-9a-z]{1,12})\.([0-9a-f]{32})$/.exec(nonce);
    if (!m?.[1] || !m[2]) return undefined;
    const want = Buffer.from(this.mac(m[1]));
    const got = Buffer.from(m[2]);
    if (!timingSafeEqual(want, got)) return undefined;
    return parseInt(m[1], 36);
  }
}
