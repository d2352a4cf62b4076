/**
 * The socket seam of the stream transports: listening and connecting over TCP or TLS, as a small
 * interface so the transport can be tested with fakes and the composition root wires node:net /
 * node:tls. TLS (RFC 3261 §26.3.1, §18.1): TLS 1.2 at least, the peer's certificate verified
 * against the configured CA (server name checked when the target is a host name; the IP address
 * SAN otherwise), an optional client certificate, and optional verification of client certificates
 * on accepted connections.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { TonewallError } from '../../../hw/base/errors';
import type { RemoteInfo } from './transport';

export interface StreamSocket {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  write(data: Buffer): boolean;
  destroy(): void;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface StreamServer {
  address(): RemoteInfo;
  close(): Promise<void>;
}

export interface StreamSocketFactory {
  listen(address: string, port: number, onSocket: (s: StreamSocket) => void, onError: (err: Error) => void): Promise<StreamServer>;
  /** Resolves once the connection is usable (TLS: handshake done and the certificate verified). */
  connect(address: string, port: number, timeoutMs: number): Promise<StreamSocket>;
}

export interface SipTlsOptions {
  /** PEM CA bundle the peer's certificate must chain to. */
  ca: string;
  /** Our certificate and key (PEM): the server certificate, also offered as client certificate. */
  cert?: string;
  key?: string;
  /** Require and verify a client certificate on connections we accept. */
  verifyClient?: boolean;
}

function wrapServer(server: net.Server): StreamServer {
  return {
    address: () => {
      const a = server.address();
      if (a === null || typeof a === 'string') return { address: '0.0.0.0', port: 0 };
      return { address: a.address, port: a.port };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function listenOn(server: net.Server, address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

/** node:net sockets (plain TCP). */
export function tcpSockets(): StreamSocketFactory {
  return {
    async listen(address, port, onSocket, onError) {
      const server = net.createServer((s) => onSocket(s));
      await listenOn(server, address, port);
      server.on('error', onError);
      return wrapServer(server);
    },
    connect(address, port, timeoutMs) {
      return new Promise<StreamSocket>((resolve, reject) => {
        const s = net.connect({ host: address, port });
        const timer = setTimeout(() => {
          s.destroy();
          reject(new TonewallError('ESIPCONNECT', `TCP connect to ${address}:${port} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        s.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        s.once('connect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          resolve(s);
        });
      });
    },
  };
}

/** node:tls sockets: TLS 1.2+, certificates verified against `opts.ca`. */
export function tlsSockets(opts: SipTlsOptions): StreamSocketFactory {
  return {
    async listen(address, port, onSocket, onError) {
      if (opts.cert === undefined || opts.key === undefined) {
        throw new TonewallError('ESIPTLS', 'a TLS listener needs sip.tls.certFile and sip.tls.keyFile');
      }
      const verify = opts.verifyClient === true;
      const server = tls.createServer(
        { cert: opts.cert, key: opts.key, ca: opts.ca, minVersion: 'TLSv1.2', requestCert: verify, rejectUnauthorized: verify },
        (s) => onSocket(s),
      );
      server.on('tlsClientError', (err, s) => onError(new TonewallError('ESIPTLS', `TLS handshake from ${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'} refused: ${err.message}`)));
      await listenOn(server, address, port);
      server.on('error', onError);
      return wrapServer(server);
    },
    connect(address, port, timeoutMs) {
      return new Promise<StreamSocket>((resolve, reject) => {
        const s = tls.connect({
          host: address,
          port,
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          minVersion: 'TLSv1.2',
          rejectUnauthorized: true,
          // SNI only for names (RFC 6066 §3 forbids literal addresses); the address SAN is checked either way.
          servername: net.isIP(address) === 0 ? address : undefined,
        });
        const timer = setTimeout(() => {
          s.destroy();
          reject(new TonewallError('ESIPCONNECT', `TLS connect to ${address}:${port} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        s.once('error', (err: Error & { code?: string }) => {
          clearTimeout(timer);
          reject(new TonewallError('ESIPTLS', `TLS connection to ${address}:${port} refused: ${err.message}${err.code !== undefined ? ` (${err.code})` : ''}; expected a certificate chaining to the configured CA (sip.tls.caFile)`));
        });
        s.once('secureConnect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          resolve(s);
        });
      });
    },
  };
}
