/**
 * Via header, RFC 3261 §20.42 and §18.2.1, with rport (RFC 3581):
 *
 *   SIP/2.0/UDP host:port;branch=z9hG4bK…;received=1.2.3.4;rport=5060
 *
 * LWS is allowed around "/" in the sent-protocol and around ";" (§25.1).
 */
import { sipError } from './sip-error';
import { formatHostPort, formatParams, parseHostPort, parseParams } from './uri';

/** The branch magic cookie of RFC 3261 §8.1.1.7. */
export const BRANCH_COOKIE = 'z9hG4bK';

export interface Via {
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS, … */
  transport: string;
  host: string;
  port: number | undefined;
  params: Map<string, string | null>;
}

export function parseVia(value: string): Via {
  const m = /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+([^;\s]+)\s*(;.*)?$/is.exec(value);
  if (!m) throw sipError('ESIPHEADER', `Via "${value}": expected "SIP/2.0/<transport> <host>[:port][;params]"`);
  const transport = (m[1] ?? '').toUpperCase();
  const hp = parseHostPort(m[2] ?? '', value);
  const params = parseParams((m[3] ?? '').replace(/\s*;\s*/g, ';').replace(/\s*=\s*/g, '=').slice(1), value);
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && !/^[0-9]{1,5}$/.test(rport)) {
    throw sipError('ESIPHEADER', `Via "${value}": rport "${rport}" is not a port number`);
  }
  return { transport, host: hp.host, port: hp.port, params };
}

export function formatVia(via: Via): string {
  return `SIP/2.0/${via.transport} ${formatHostPort(via.host, via.port)}${formatParams(via.params)}`;
}

/** The branch parameter, or undefined for pre-3261 peers. */
export function viaBranch(via: Via): string | undefined {
  return via.params.get('branch') ?? undefined;
}
