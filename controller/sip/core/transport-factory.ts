/**
 * Builds and opens the transport `sip.transport` names (RFC 3261 §18), and maps URIs to the
 * transport they ask for (§19.1.4 `transport` parameter, §26.2.1 sips: → TLS).
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../../hw/base/clock';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import type { SipConfig } from '../../config/schema';
import { parseSipUri } from './messages/uri';
import { createUdpSocket, UdpTransport, type SipTransport, type SipTransportProtocol } from './transport';
import { StreamTransport } from './transport-stream';
import { tcpSockets, tlsSockets, type SipTlsOptions } from './transport-stream-sockets';

/** The transport a URI asks for: sips: → TLS, `;transport=tcp|tls|udp`, else UDP. */
export function transportForUri(uriText: string): SipTransportProtocol {
  const uri = parseSipUri(uriText);
  if (uri.scheme === 'sips') return 'TLS';
  const t = uri.params.get('transport')?.toLowerCase();
  if (t === undefined || t === null || t === 'udp') return 'UDP';
  if (t === 'tcp') return 'TCP';
  if (t === 'tls') return 'TLS';
  throw new TonewallError('ESIPTRANSPORT', `URI "${uriText}" asks for transport "${t}"; expected udp, tcp or tls`);
}

/**
 * The transport a URI names explicitly (sips: or a `transport` parameter), or undefined for a plain
 * sip: URI, which the user agent sends over its primary transport (sip.transport).
 */
export function explicitTransportForUri(uriText: string): SipTransportProtocol | undefined {
  const uri = parseSipUri(uriText);
  if (uri.scheme !== 'sips' && !uri.params.has('transport')) return undefined;
  return transportForUri(uriText);
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TonewallError('ESIPTLS', `cannot read ${key} "${path}": ${errorMessage(err)}`);
  }
}

/** The TLS options from `sip.tls`; the CA is required (no unverified TLS). */
export function tlsOptionsFromConfig(config: SipConfig): SipTlsOptions {
  const t = config.tls;
  if (t.caFile === '') throw new TonewallError('ESIPTLS', 'sip.transport is tls but sip.tls.caFile is empty; expected the PEM CA that signs the trunk certificates');
  return {
    ca: readPem(t.caFile, 'sip.tls.caFile'),
    cert: t.certFile !== '' ? readPem(t.certFile, 'sip.tls.certFile') : undefined,
    key: t.keyFile !== '' ? readPem(t.keyFile, 'sip.tls.keyFile') : undefined,
    verifyClient: t.verifyClient,
  };
}

/** Creates the configured transport and binds it to bindAddress:bindPort. */
export async function openConfiguredTransport(config: SipConfig, clock: Clock, log: Logger, tlsOverride?: SipTlsOptions): Promise<SipTransport> {
  const protocol = config.transport === 'tls' ? 'TLS' : config.transport === 'tcp' ? 'TCP' : 'UDP';
  return openTransport(config, protocol, config.bindPort, clock, log, tlsOverride);
}

/** Creates a transport for `protocol` bound to bindAddress:`port` (TLS with the sip.tls settings). */
export async function openTransport(config: SipConfig, protocol: SipTransportProtocol, port: number, clock: Clock, log: Logger, tlsOverride?: SipTlsOptions): Promise<SipTransport> {
  if (protocol === 'UDP') {
    const udp = new UdpTransport(createUdpSocket());
    await udp.open(config.bindAddress, port);
    return udp;
  }
  const sockets = protocol === 'TLS' ? tlsSockets(tlsOverride ?? tlsOptionsFromConfig(config)) : tcpSockets();
  const t = new StreamTransport({ protocol, sockets, clock, log, keepaliveIntervalMs: config.streamKeepaliveS * 1000 });
  await t.open(config.bindAddress, port);
  return t;
}

/**
 * The transports the trunks name besides `primary` (a trunk URI with sips: or `;transport=`; the
 * implicit trunk contactCenterUri when no trunks are listed), in a stable order.
 */
export function trunkProtocols(config: SipConfig, primary: SipTransportProtocol): SipTransportProtocol[] {
  const uris = config.trunks.length > 0 ? config.trunks.map((t) => t.uri) : [config.contactCenterUri];
  const out = new Set<SipTransportProtocol>();
  for (const u of uris) {
    const p = explicitTransportForUri(u.replace('{called}', 'x'));
    if (p !== undefined && p !== primary) out.add(p);
  }
  return (['UDP', 'TCP', 'TLS'] as const).filter((p) => out.has(p));
}
