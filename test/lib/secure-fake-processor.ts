/**
 * A misbehaving processor for connector tests: an mTLS HTTPS server on 127.0.0.1 whose handler the
 * test supplies (answer garbage, a 500, never answer, …). It records how many requests reached it.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CertPair } from './secure-certs';

export class FakeProcessor {
  requests = 0;
  private readonly server: Server;

  constructor(server: CertPair, clientCa: string, handler: (req: IncomingMessage, res: ServerResponse) => void) {
    this.server = createServer({ cert: server.cert, key: server.key, ca: clientCa, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      this.requests++;
      req.resume();
      handler(req, res);
    });
  }

  start(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer: tcp } = await import('node:net');
  const s = tcp();
  const port = await new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
