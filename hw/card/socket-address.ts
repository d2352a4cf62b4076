/**
 * Socket addresses of the card link for transport=socket (controller/config/schema.ts `card.socket`):
 * `unix:/run/tonewall/card.sock` or `tcp:127.0.0.1:7001` (QEMU's serial chardev socket, the
 * simulator's socket mode).
 */
import { TonewallError } from '../base/errors';

export type SocketAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseSocketAddress(text: string): SocketAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (path.length === 0) throw new TonewallError('CARD_SOCKET_ADDRESS', `socket address '${text}' has an empty path, expected unix:/path/to/socket`);
    return { kind: 'unix', path };
  }
  if (text.startsWith('tcp:')) {
    const rest = text.slice(4);
    const colon = rest.lastIndexOf(':');
    const host = colon > 0 ? rest.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : '';
    const portText = colon > 0 ? rest.slice(colon + 1) : '';
    const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!host || !(port >= 1 && port <= 65535)) {
      throw new TonewallError('CARD_SOCKET_ADDRESS', `socket address '${text}' is not tcp:host:port with port 1..65535`);
    }
    return { kind: 'tcp', host, port };
  }
  throw new TonewallError('CARD_SOCKET_ADDRESS', `socket address '${text}' has no known scheme, expected unix:/path or tcp:host:port`);
}

export function formatSocketAddress(a: SocketAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
