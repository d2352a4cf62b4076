/**
 * Answers 401/407 challenges on our requests, RFC 3261 §22.2–§22.3 (and §8.1.3.5): the request is
 * sent again with the same Call-ID, From tag and Request-URI, CSeq + 1, a new Via branch (a new
 * client transaction; the ACK for a challenged INVITE is the transaction's, §17.1.1.3), and an
 * Authorization (401: WWW-Authenticate) or Proxy-Authorization (407: Proxy-Authenticate) per
 * challenge we have credentials for.
 *
 * - Preference among several challenges (RFC 8760 §2.4): SHA-512-256, then SHA-256, then MD5.
 * - qop=auth with a fresh cnonce and nc counting per nonce (RFC 7616 §3.4); qop-less challenges are
 *   answered RFC 2617 style.
 * - A second challenge for the same realm and nonce means the credentials were refused: the
 *   challenge goes to the caller (no loop). A challenge with `stale=true` (RFC 7616 §3.3) or with
 *   a new nonce is answered again, at most `maxAttempts` times per request.
 *
 * Credentials never appear in log lines or error messages: only the username and the realm.
 */
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { cseq, headerValues, setHeader, type SipRequest, type SipResponse } from '../core/messages/message';
import type { Destination } from '../core/transactions/transaction';
import { formatAuthorization, parseChallenge, type DigestAlgorithm, type DigestChallenge } from './digest';

export interface DigestCredentials {
  username: string;
  password: string;
  /** Answer only this realm (absent: any realm the destination challenges with). */
  realm?: string;
}

/** Credentials for a destination and realm, or undefined (the challenge goes to the caller). */
export type CredentialLookup = (dest: Destination, realm: string) => DigestCredentials | undefined;

const STRENGTH: Readonly<Record<DigestAlgorithm, number>> = {
  'SHA-512-256': 3, 'SHA-512-256-sess': 3, 'SHA-256': 2, 'SHA-256-sess': 2, 'MD5': 1, 'MD5-sess': 1,
};

/** Per-request memory of what was answered (kept by the retry wrapper). */
export interface AuthAttempt {
  count: number;
  /** realm|nonce pairs already answered. */
  answered: Set<string>;
}

export class DigestAuthenticator {
  private readonly nonceCounts = new Map<string, number>();

  constructor(
    private readonly lookup: CredentialLookup,
    private readonly log: Logger,
    private readonly maxAttempts = 3,
    private readonly newCnonce: () => string = () => randomBytes(12).toString('hex'),
  ) {}

  newAttempt(): AuthAttempt {
    return { count: 0, answered: new Set() };
  }

  /**
   * Rewrites `req` in place to answer the challenge in `res` (CSeq + 1, credentials headers; the
   * caller puts a new Via branch on it). Returns false when the challenge cannot or must not be
   * answered (no credentials, refused credentials, too many attempts, unparseable challenge).
   */
  answer(req: SipRequest, res: SipResponse, dest: Destination, attempt: AuthAttempt): boolean {
    if (res.status !== 401 && res.status !== 407) return false;
    if (attempt.count >= this.maxAttempts) {
      this.log.warn('digest challenge not answered: too many attempts', { method: req.method, attempts: attempt.count });
      return false;
    }
    const proxy = res.status === 407;
    const chosen = this.pick(headerValues(res, proxy ? 'proxy-authenticate' : 'www-authenticate'), dest);
    if (!chosen) {
      this.log.warn('digest challenge not answered: no usable challenge or no credentials for it', { method: req.method, status: res.status, to: `${dest.address}:${dest.port}` });
      return false;
    }
    const { ch, creds } = chosen;
    const key = `${ch.realm}|${ch.nonce}`;
    if (attempt.answered.has(key) && !ch.stale) {
      this.log.warn('digest credentials refused', { method: req.method, realm: ch.realm, username: creds.username, status: res.status });
      return false;
    }
    attempt.answered.add(key);
    attempt.count++;
    const nc = (this.nonceCounts.get(ch.nonce) ?? 0) + 1;
    this.nonceCounts.set(ch.nonce, nc);
    if (this.nonceCounts.size > 256) this.nonceCounts.delete(this.nonceCounts.keys().next().value ?? '');
    const qop = ch.qop.length === 0 ? undefined : ch.qop.includes('auth') ? 'auth' : null;
    if (qop === null) {
      this.log.warn('digest challenge not answered: qop offers only auth-int', { method: req.method, realm: ch.realm });
      return false;
    }
    const value = formatAuthorization(ch, {
      algorithm: ch.algorithm, username: creds.username, password: creds.password, realm: ch.realm, nonce: ch.nonce,
      method: req.method, uri: req.uri, qop, nc: nc.toString(16).padStart(8, '0'), cnonce: this.newCnonce(),
    });
    setHeader(req, proxy ? 'Proxy-Authorization' : 'Authorization', value);
    setHeader(req, 'CSeq', `${cseq(req).seq + 1} ${req.method}`);
    this.log.debug('answering digest challenge', { method: req.method, realm: ch.realm, algorithm: ch.algorithm, username: creds.username, stale: ch.stale });
    return true;
  }

  private pick(values: string[], dest: Destination): { ch: DigestChallenge; creds: DigestCredentials } | undefined {
    let best: { ch: DigestChallenge; creds: DigestCredentials } | undefined;
    for (const v of values) {
      let ch: DigestChallenge;
      try {
        ch = parseChallenge(v);
      } catch (err) {
        this.log.debug('ignoring challenge', { error: errorMessage(err) });
        continue;
      }
      const creds = this.lookup(dest, ch.realm);
      if (!creds || (creds.realm !== undefined && creds.realm !== ch.realm)) continue;
      if (!best || STRENGTH[ch.algorithm] > STRENGTH[best.ch.algorithm]) best = { ch, creds };
    }
    return best;
  }
}
