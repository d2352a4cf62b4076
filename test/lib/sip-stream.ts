/**
 * Helpers for SIP over TCP/TLS in integration tests: a config for a transport (with the test PKI
 * written to files), a call from a user agent to a demo contact center, and PKI file paths.
 */
import { join } from 'node:path';
import { parseConfig } from '../../controller/config/load';
import type { SipConfig } from '../../controller/config/schema';
import type { SipUserAgent } from '../../controller/sip/api/user-agent';
import { buildOffer } from '../../controller/media/sdp';
import type { TestPki } from './secure-certs';

/** A SIP config on ephemeral ports for `transport`; TLS files from the PKI (server cert for both sides). */
export function streamSipConfig(transport: 'udp' | 'tcp' | 'tls', pki?: TestPki, extra: Record<string, unknown> = {}): SipConfig {
  const tls = pki
    ? { caFile: join(pki.dir, 'ca.crt'), certFile: join(pki.dir, 'server.crt'), keyFile: join(pki.dir, 'server.key') }
    : {};
  return parseConfig({ sip: { bindPort: 0, transport, tls, demoEndpoint: { bindPort: 0 }, ...extra } }).sip;
}

/** The Request-URI for a peer on `port` over `transport`. */
export function peerUri(user: string, port: number, transport: 'udp' | 'tcp' | 'tls'): string {
  if (transport === 'tls') return `sips:${user}@127.0.0.1:${port}`;
  return transport === 'tcp' ? `sip:${user}@127.0.0.1:${port};transport=tcp` : `sip:${user}@127.0.0.1:${port}`;
}

/** Places a call and resolves with 'answered' or the failure status. */
export function placeCall(ua: SipUserAgent, requestUri: string): { result: Promise<{ answered: true } | { answered: false; status: number; reason: string }>; hangup(): Promise<void> } {
  const call = ua.invite({ requestUri, fromUser: '5550100', sdpOffer: buildOffer({ address: '127.0.0.1', port: 40000, codecs: ['PCMU'], ptimeMs: 20 }) });
  const result = new Promise<{ answered: true } | { answered: false; status: number; reason: string }>((resolve) => {
    call.once('answered', () => resolve({ answered: true }));
    call.once('failed', (status, reason) => resolve({ answered: false, status, reason }));
  });
  return { result, hangup: () => call.hangup() };
}
