/**
 * Addresses the simulator listens on: `unix:/path/to/socket` or `tcp:HOST:PORT` (PORT 0 = any free
 * port). The same syntax as the driver's `card.socket` setting.
 */
import { TonewallError } from '../base/errors';

export type SimAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseSimAddress(text: string): SimAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path) throw new TonewallError('SIM_ADDRESS', `address "${text}" has no socket path, expected unix:/path/to/socket`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:(.+):(\d{1,5})$/.exec(text);
  if (m && m[1] && m[2]) {
    const port = Number(m[2]);
    if (port > 65535) throw new TonewallError('SIM_ADDRESS', `address "${text}": port ${port} exceeds 65535`);
    return { kind: 'tcp', host: m[1], port };
  }
  throw new TonewallError('SIM_ADDRESS', `address "${text}" not understood, expected unix:/path or tcp:HOST:PORT`);
}

export function formatSimAddress(a: SimAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host}:${a.port}`;
}
