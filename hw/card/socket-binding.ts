/**
 * serialport's BindingInterface over a stream socket, so the driver runs unchanged over a unix
 * socket or TCP (the simulator's socket mode, QEMU's `-chardev socket`). The `path` of the open
 * options is a socket address (socket-address.ts); baud rate and modem lines mean nothing on a
 * socket and are accepted and ignored.
 *
 * Contract of BindingPortInterface (@serialport/bindings-interface): read resolves with at least
 * one byte; reads and writes in progress when close() is called reject with `canceled: true`; any
 * other rejection (peer closed, socket error) makes SerialPortStream report a disconnect.
 */
import net from 'node:net';
import type { BindingInterface, BindingPortInterface, OpenOptions, PortInfo, PortStatus } from '@serialport/bindings-interface';
import { TonewallError } from '../base/errors';
import { parseSocketAddress } from './socket-address';

/** Bytes held from the socket before it is paused until the stream reads. */
const READ_QUEUE_HIGH_BYTES = 256 * 1024;

class CanceledError extends Error {
  readonly canceled = true;
}

interface PendingRead {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve: (r: { buffer: Buffer; bytesRead: number }) => void;
  reject: (err: Error) => void;
}

export class SocketBindingPort implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private pending: PendingRead | undefined;
  private ended: Error | undefined;

  constructor(
    private readonly socket: net.Socket,
    openOptions: Required<OpenOptions>,
  ) {
    this.openOptions = openOptions;
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > READ_QUEUE_HIGH_BYTES) socket.pause();
      this.serveRead();
    });
    socket.on('end', () => this.finish(new Error(`socket ${openOptions.path} closed by the peer`)));
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish(new Error(`socket ${openOptions.path} closed`)));
  }

  private finish(err: Error): void {
    if (this.ended) return;
    this.ended = err;
    this.serveRead();
  }

  private serveRead(): void {
    const p = this.pending;
    if (!p) return;
    if (this.queue.length === 0) {
      if (this.ended) {
        this.pending = undefined;
        p.reject(this.isOpen ? this.ended : new CanceledError('port closed'));
      }
      return;
    }
    this.pending = undefined;
    let n = 0;
    while (n < p.length && this.queue.length) {
      const head = this.queue[0];
      if (!head) break;
      const take = Math.min(head.length, p.length - n);
      head.copy(p.buffer, p.offset + n, 0, take);
      n += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    this.queuedBytes -= n;
    if (this.queuedBytes <= READ_QUEUE_HIGH_BYTES && this.socket.isPaused()) this.socket.resume();
    p.resolve({ buffer: p.buffer, bytesRead: n });
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) return Promise.reject(new CanceledError('port is not open'));
    if (this.pending) return Promise.reject(new Error('a read is already pending'));
    return new Promise((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
      this.serveRead();
    });
  }

  write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) return Promise.reject(new CanceledError('port is not open'));
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.socket.write(buffer, (err) => (err ? reject(this.isOpen ? err : new CanceledError('port closed')) : resolve()));
    });
  }

  close(): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    this.isOpen = false;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new CanceledError('port closed'));
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }

  update(): Promise<void> {
    return Promise.resolve();
  }
  set(): Promise<void> {
    return Promise.resolve();
  }
  get(): Promise<PortStatus> {
    return Promise.resolve({ cts: true, dsr: true, dcd: true });
  }
  getBaudRate(): Promise<{ baudRate: number }> {
    return Promise.resolve({ baudRate: this.openOptions.baudRate });
  }
  flush(): Promise<void> {
    this.queue.length = 0;
    this.queuedBytes = 0;
    return Promise.resolve();
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

/** Opens `unix:/path` or `tcp:host:port` as a serial port. */
export class SocketBinding implements BindingInterface<SocketBindingPort> {
  list(): Promise<PortInfo[]> {
    return Promise.resolve([]);
  }

  open(options: OpenOptions): Promise<SocketBindingPort> {
    let address;
    try {
      address = parseSocketAddress(options.path);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const full: Required<OpenOptions> = {
      dataBits: 8,
      lock: true,
      stopBits: 1,
      parity: 'none',
      rtscts: false,
      xon: false,
      xoff: false,
      xany: false,
      hupcl: true,
      ...options,
    };
    return new Promise((resolve, reject) => {
      const socket = address.kind === 'unix' ? net.createConnection({ path: address.path }) : net.createConnection({ host: address.host, port: address.port });
      const onError = (err: Error): void => {
        socket.destroy();
        reject(new TonewallError('CARD_SOCKET_OPEN', `cannot connect to ${options.path}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.setNoDelay?.(true);
        resolve(new SocketBindingPort(socket, full));
      });
    });
  }
}
