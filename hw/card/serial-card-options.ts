/**
 * Options and extra events of the card driver (serial-card.ts), and how it names requests.
 */
import type { BindingInterface } from '@serialport/bindings-interface';
import type { Clock } from '../base/clock';
import type { Logger } from '../base/logger';
import type { CasBitsMessage, CountersMessage } from '../link/messages';
import type { HookCommand } from './types';

/** Field names match controller/config/schema.ts `card`, so the app can pass the slice plus a logger. */
export interface SerialCardOptions {
  /** serial: `path` is a tty; socket: `socket` is unix:/path or tcp:host:port. Default: serial. */
  transport?: 'serial' | 'socket';
  path?: string;
  socket?: string;
  baudRate: number;
  keepaliveMs: number;
  keepaliveMissLimit: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
  clock?: Clock;
  /** Default: bindings-cpp for serial, SocketBinding for socket. */
  binding?: BindingInterface;
  /** [0, 1) for reconnect jitter. Default Math.random. */
  random?: () => number;
  /** Base reply timeout of a request; flash adds its duration, dial 1 s per digit. Default 2000. */
  commandTimeoutMs?: number;
  /** Sent in host-hello. */
  softwareVersion?: string;
  /** PCM is dropped while the port has more than this many bytes waiting to be written. Default 65536. */
  maxTxBufferedBytes?: number;
}

/**
 * What protocol v1 carries beyond the TelephonyCard interface (whose CardEvents are fixed), on the
 * driver's `linkEvents` emitter.
 */
export type CardLinkExtraEvents = {
  /** One D-channel HDLC frame from a span (without flags and FCS). */
  dchan: [span: number, data: Buffer];
  /** CAS ABCD bits of one channel changed (reserved in v1). */
  'cas-bits': [msg: Omit<CasBitsMessage, 'type'>];
  /** The card's counters report (every 10 s and on requestCounters()). */
  counters: [report: Omit<CountersMessage, 'type'>];
};

/** How a hook command is named in errors and logs (never the dialed digits). */
export function describeCommand(cmd: HookCommand): string {
  if (cmd.kind === 'dial') return `dial on port ${cmd.port} (${cmd.digits.length} digits)`;
  return `${cmd.kind} on port ${cmd.port}`;
}

/** Reply timeout of a hook command: the base, plus the flash duration, plus 1 s per dial character. */
export function commandTimeoutMs(cmd: HookCommand, baseMs: number): number {
  return baseMs + (cmd.kind === 'flash' ? cmd.durationMs : cmd.kind === 'dial' ? cmd.digits.length * 1000 : 0);
}
