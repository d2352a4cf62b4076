/**
 * The SIP edge in front of the transaction layer: a `SipTransport` that wraps the real one and
 * passes on only the requests `EdgePolicy` accepts (responses always pass: they only ever match our
 * own transactions). Refused requests are dropped without an answer, so a scanner learns nothing,
 * and logged once per source and reason per interval with the reason and the count dropped since.
 *
 * With sip.edge.authenticateUnknown on, a request from an unknown (not banned) source is challenged
 * instead (digest-gate.ts): 401 from here, before any transaction exists; a right answer admits
 * the source for sessionTtlS (its in-dialog requests then pass as a peer's); maxFailures wrong
 * answers ban it. ACK and CANCEL cannot be challenged (§22.1) and are dropped from such a source.
 */
import type { Clock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { SipConfig } from '../../config/schema';
import { readFileSync } from 'node:fs';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import { parseMessage, serializeMessage } from '../core/messages/parser';
import type { RemoteInfo, SipTransport } from '../core/transport';
import { StreamTransport } from '../core/transport-stream';
import { allowListFromConfig } from './allow-list';
import { EdgePolicy, type EdgeStats } from './edge-policy';
import { DigestGate } from './digest-gate';

/** The edge's digest authentication of unknown sources (sip.edge.authenticateUnknown). */
export interface EdgeAuth {
  gate: DigestGate;
  maxFailures: number;
  sessionTtlMs: number;
  agent: string;
}

/** The method token of a request datagram (for the log line), or undefined for a response. */
export function requestMethod(data: Buffer): string | undefined {
  let start = 0;
  while (start < data.length && (data[start] === 0x0d || data[start] === 0x0a)) start++;
  const head = data.toString('latin1', start, Math.min(data.length, start + 40));
  if (head.startsWith('SIP/2.0 ')) return undefined;
  const m = /^[A-Za-z0-9\-.!%*_+`'~]{1,20}/.exec(head);
  return m ? m[0] : '(not SIP)';
}

const REASON_TEXT = {
  'unknown-source': 'source is not a configured peer (sip.edge.allow, trunk addresses)',
  'rate-limited': 'peer exceeds its request rate (sip.edge.peerRatePerS)',
  banned: 'source is banned after a flood of requests (sip.edge.unknownBurst)',
} as const;

export class EdgeFilteredTransport extends TypedEmitter<{ message: [data: Buffer, from: RemoteInfo]; error: [err: Error] }> implements SipTransport {
  constructor(private readonly inner: SipTransport, readonly policy: EdgePolicy, private readonly log: Logger, private readonly banS: number, private readonly auth?: EdgeAuth) {
    super();
    inner.on('message', (data, from) => this.onMessage(data, from));
    // On TCP/TLS a connection from a source the edge refuses is closed as it is accepted; with
    // authentication on, only banned sources (the others may still answer a challenge).
    if (inner instanceof StreamTransport) inner.setAcceptFilter((remote) => (auth ? !policy.isBanned(remote.address) : this.admit('(connection)', remote)));
    inner.on('error', (err) => this.emit('error', err));
  }

  get protocol(): SipTransport['protocol'] {
    return this.inner.protocol;
  }

  get reliable(): boolean {
    return this.inner.reliable;
  }

  get localAddress(): RemoteInfo {
    return this.inner.localAddress;
  }

  /** The transport underneath (counters, tests). */
  get wrapped(): SipTransport {
    return this.inner;
  }

  get stats(): EdgeStats {
    return this.policy.stats;
  }

  send(data: Buffer, address: string, port: number): void {
    this.inner.send(data, address, port);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private onMessage(data: Buffer, from: RemoteInfo): void {
    const method = requestMethod(data);
    if (method === undefined || this.admit(method, from, data)) this.emit('message', data, from);
  }

  /** The policy's verdict for a request (or a new connection) from `from`, logged as it says. */
  private admit(method: string, from: RemoteInfo, data?: Buffer): boolean {
    const v = this.policy.check(from.address);
    if (v.accept) return true;
    if (this.auth && data && v.reason === 'unknown-source') return this.authenticate(method, from, data, this.auth);
    if (!v.log) return false;
    const fields = { source: from.address, port: from.port, method, reason: v.reason, droppedSinceLastLine: v.suppressed };
    if (v.bannedNow) this.log.warn(`SIP source banned for ${this.banS} s: flood of requests from an unknown source`, fields);
    else this.log.warn(`SIP request refused: ${REASON_TEXT[v.reason]}`, fields);
    return false;
  }

  /** An unknown source's request: admitted with the right credentials, else challenged (or dropped). */
  private authenticate(method: string, from: RemoteInfo, data: Buffer, auth: EdgeAuth): boolean {
    if (method === 'ACK' || method === 'CANCEL') return false;
    let req;
    try {
      const m = parseMessage(data);
      if (m.kind !== 'request') return false;
      req = m;
    } catch {
      return false;
    }
    const r = auth.gate.verify(req);
    const fields = { source: from.address, port: from.port, method, ...(r.kind === 'ok' || r.username !== undefined ? { user: r.kind === 'ok' ? r.username : r.username } : {}) };
    if (r.kind === 'ok') {
      this.policy.authenticatedSource(from.address, auth.sessionTtlMs);
      this.log.info('SIP source authenticated (digest): admitted as a peer', fields);
      return true;
    }
    if (r.failure && this.policy.authFailure(from.address, auth.maxFailures)) {
      this.log.warn(`SIP source banned for ${this.banS} s: ${auth.maxFailures} failed authentications`, { ...fields, reason: r.reason });
      return false;
    }
    if (r.failure) this.log.warn('SIP request challenged: authentication failed', { ...fields, reason: r.reason });
    else this.log.info('SIP request challenged (401)', { ...fields, reason: r.reason });
    this.inner.send(serializeMessage(auth.gate.challenge(req, r.stale, auth.agent)), from.address, from.port);
    return false;
  }
}

/** The users and passwords of sip.edge.authenticateUnknown (password files read now). */
function edgeUsers(config: SipConfig): Map<string, string> {
  const users = new Map<string, string>();
  for (const u of config.edge.authenticateUnknown.users) {
    let password = u.password;
    if (u.passwordFile !== undefined) {
      try {
        password = (readFileSync(u.passwordFile, 'utf8').split(/\r?\n/)[0] ?? '').trim();
      } catch (err) {
        throw new TonewallError('ECONFIG', `cannot read sip.edge.authenticateUnknown password file for user ${u.username}: ${errorMessage(err)}`);
      }
      if (password === '') throw new TonewallError('ECONFIG', `the password file for sip.edge.authenticateUnknown user ${u.username} is empty`);
    }
    if (password !== undefined) users.set(u.username, password);
  }
  return users;
}

/** Wraps `inner` with the edge `config.edge` describes. */
export function edgeTransport(inner: SipTransport, config: SipConfig, clock: Clock, log: Logger): EdgeFilteredTransport {
  const e = config.edge;
  const policy = new EdgePolicy({
    allow: allowListFromConfig(config), peerRatePerS: e.peerRatePerS, peerBurst: e.peerBurst, unknownBurst: e.unknownBurst,
    unknownWindowMs: e.unknownWindowS * 1000, banMs: e.banS * 1000, logIntervalMs: e.logIntervalS * 1000,
  }, clock);
  const a = e.authenticateUnknown;
  const auth: EdgeAuth | undefined = a.enabled
    ? { gate: new DigestGate({ realm: a.realm, algorithms: a.algorithms, users: edgeUsers(config), nonceTtlMs: a.nonceTtlS * 1000, clock }), maxFailures: a.maxFailures, sessionTtlMs: a.sessionTtlS * 1000, agent: config.userAgent }
    : undefined;
  return new EdgeFilteredTransport(inner, policy, log.child('sip-edge'), e.banS, auth);
}
