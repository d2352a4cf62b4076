/**
 * A strict in-memory SIP transport for unit tests: records every datagram sent (parsed back, so a
 * test fails if we ever send something our own parser rejects) and lets the test inject datagrams.
 */
import { TypedEmitter } from '../../hw/base/typed-emitter';
import type { RemoteInfo, SipTransport } from '../../controller/sip/core/transport';
import type { SipMessage, SipRequest, SipResponse } from '../../controller/sip/core/messages/message';
import { parseMessage, serializeMessage } from '../../controller/sip/core/messages/parser';

export interface SentDatagram {
  msg: SipMessage;
  raw: Buffer;
  address: string;
  port: number;
}

export class FakeSipTransport extends TypedEmitter<{ message: [data: Buffer, from: RemoteInfo]; error: [err: Error] }> implements SipTransport {
  readonly protocol = 'UDP' as const;
  readonly reliable = false;
  readonly sent: SentDatagram[] = [];
  closed = false;

  constructor(readonly localAddress: RemoteInfo = { address: '127.0.0.1', port: 5062 }) {
    super();
  }

  send(data: Buffer, address: string, port: number): void {
    if (this.closed) throw new Error('FakeSipTransport: send after close');
    this.sent.push({ msg: parseMessage(data), raw: data, address, port });
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Delivers a datagram as if it came from `from`. */
  inject(msg: SipMessage | string | Buffer, from: RemoteInfo = { address: '127.0.0.1', port: 5080 }): void {
    const data = typeof msg === 'string' ? Buffer.from(msg.replace(/\r?\n/g, '\r\n')) : Buffer.isBuffer(msg) ? msg : serializeMessage(msg);
    this.emit('message', data, from);
  }

  requests(method?: string): SipRequest[] {
    return this.sent.map((s) => s.msg).filter((m): m is SipRequest => m.kind === 'request' && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.sent.map((s) => s.msg).filter((m): m is SipResponse => m.kind === 'response' && (status === undefined || m.status === status));
  }

  clear(): void {
    this.sent.length = 0;
  }
}

/** Joins lines with CRLF and appends the blank line (test messages are written one line per entry). */
export function sipText(lines: string[], body = ''): string {
  return lines.join('\r\n') + '\r\n\r\n' + body;
}
