/**
 * The SIP transport seam (RFC 3261 §18). A transport only moves whole messages; it knows nothing of
 * transactions. UDP is here; TCP and TLS (stream framing by Content-Length, §18.3, connection
 * reuse) are `transport-stream.ts` behind the same interface, chosen by `transport-factory.ts`.
 *
 * The UDP socket is injected (`DatagramSocket`, the subset of node:dgram we use), so tests can
 * wire a fake and the composition root wires `dgram.createSocket('udp4')`.
 */
import * as dgram from 'node:dgram';
import { TypedEmitter } from '../../../hw/base/typed-emitter';

/** The Via sent-protocol tokens of the transports we implement. */
export type SipTransportProtocol = 'UDP' | 'TCP' | 'TLS';

export interface RemoteInfo {
  address: string;
  port: number;
  /** The transport a message arrived on (set by the transaction layer when it runs several). */
  protocol?: SipTransportProtocol;
}

export interface SipTransport extends TypedEmitter<{ message: [data: Buffer, from: RemoteInfo]; error: [err: Error] }> {
  /** The Via sent-protocol (§18.1, §20.42). */
  readonly protocol: SipTransportProtocol;
  /** Reliable transports disable Timers A/E/G retransmission (§17.1.1.2). */
  readonly reliable: boolean;
  readonly localAddress: RemoteInfo;
  send(data: Buffer, address: string, port: number): void;
  close(): Promise<void>;
}

/** The subset of node:dgram.Socket the UDP transport needs. */
export interface DatagramSocket {
  bind(port: number, address: string, cb: () => void): void;
  send(msg: Buffer, port: number, address: string, cb?: (err: Error | null) => void): void;
  address(): { address: string; port: number };
  close(cb?: () => void): void;
  on(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfo) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  removeListener(event: 'error', listener: (err: Error) => void): this;
}

export function createUdpSocket(): DatagramSocket {
  return dgram.createSocket('udp4');
}

export class UdpTransport extends TypedEmitter<{ message: [data: Buffer, from: RemoteInfo]; error: [err: Error] }> implements SipTransport {
  readonly protocol = 'UDP' as const;
  readonly reliable = false;
  private bound: RemoteInfo | undefined;
  private closed = false;

  constructor(private readonly socket: DatagramSocket) {
    super();
  }

  /** Binds the socket (port 0 = ephemeral). */
  async open(address: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.socket.once('error', onError);
      this.socket.bind(port, address, () => {
        this.socket.removeListener('error', onError);
        resolve();
      });
    });
    const a = this.socket.address();
    this.bound = { address: a.address, port: a.port };
    this.socket.on('message', (msg, rinfo) => this.emit('message', msg, { address: rinfo.address, port: rinfo.port }));
    this.socket.on('error', (err) => this.emit('error', err));
  }

  get localAddress(): RemoteInfo {
    return this.bound ?? { address: '0.0.0.0', port: 0 };
  }

  send(data: Buffer, address: string, port: number): void {
    if (this.closed) return;
    this.socket.send(data, port, address, (err) => {
      if (err) this.emit('error', err);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
