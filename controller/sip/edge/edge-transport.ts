/**
 * The SIP edge in front of the transaction layer: a `SipTransport` that wraps the real one and
 * passes on only the requests `EdgePolicy` accepts (responses always pass: they only ever match our
 * own transactions). Refused requests are dropped without an answer, so a scanner learns nothing,
 * and logged once per source and reason per interval with the reason and the count dropped since.
 */
import type { Clock } from '../../../hw/base/clock';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { SipConfig } from '../../config/schema';
import type { RemoteInfo, SipTransport } from '../core/transport';
import { StreamTransport } from '../core/transport-stream';
import { allowListFromConfig } from './allow-list';
import { EdgePolicy, type EdgeStats } from './edge-policy';

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
  constructor(private readonly inner: SipTransport, readonly policy: EdgePolicy, private readonly log: Logger, private readonly banS: number) {
    super();
    inner.on('message', (data, from) => this.onMessage(data, from));
    // On TCP/TLS a connection from a source the edge refuses is closed as it is accepted.
    if (inner instanceof StreamTransport) inner.setAcceptFilter((remote) => this.admit('(connection)', remote));
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
    if (method === undefined || this.admit(method, from)) this.emit('message', data, from);
  }

  /** The policy's verdict for a request (or a new connection) from `from`, logged as it says. */
  private admit(method: string, from: RemoteInfo): boolean {
    const v = this.policy.check(from.address);
    if (v.accept) return true;
    if (!v.log) return false;
    const fields = { source: from.address, port: from.port, method, reason: v.reason, droppedSinceLastLine: v.suppressed };
    if (v.bannedNow) this.log.warn(`SIP source banned for ${this.banS} s: flood of requests from an unknown source`, fields);
    else this.log.warn(`SIP request refused: ${REASON_TEXT[v.reason]}`, fields);
    return false;
  }
}

/** Wraps `inner` with the edge `config.edge` describes. */
export function edgeTransport(inner: SipTransport, config: SipConfig, clock: Clock, log: Logger): EdgeFilteredTransport {
  const e = config.edge;
  const policy = new EdgePolicy({
    allow: allowListFromConfig(config), peerRatePerS: e.peerRatePerS, peerBurst: e.peerBurst, unknownBurst: e.unknownBurst,
    unknownWindowMs: e.unknownWindowS * 1000, banMs: e.banS * 1000, logIntervalMs: e.logIntervalS * 1000,
  }, clock);
  return new EdgeFilteredTransport(inner, policy, log.child('sip-edge'), e.banS);
}
