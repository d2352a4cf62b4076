/**
 * One open connection to the card: a SerialPortStream over the binding passed in (bindings-cpp
 * for a tty, SocketBinding for a socket). The driver makes a new CardPort per connection attempt,
 * so events of an old connection can never reach the current one.
 */
import type { BindingInterface } from '@serialport/bindings-interface';
import { SerialPortStream } from '@serialport/stream';

export interface CardPortHandlers {
  onData(chunk: Buffer): void;
  /** The port closed without close() being called (device gone, peer closed, I/O error). */
  onClose(reason: string): void;
  onError(message: string): void;
}

export class CardPort {
  private closedByUs = false;

  private constructor(private readonly stream: SerialPortStream) {}

  /** Opens `path`; rejects with the binding's error (e.g. no such device). */
  static open(binding: BindingInterface, path: string, baudRate: number, handlers: CardPortHandlers): Promise<CardPort> {
    const stream = new SerialPortStream({ binding, path, baudRate, autoOpen: false });
    const port = new CardPort(stream);
    stream.on('error', (err: Error) => {
      if (!port.closedByUs) handlers.onError(err.message);
    });
    return new Promise((resolve, reject) => {
      stream.open((err) => {
        if (err) {
          reject(err);
          return;
        }
        stream.on('data', (chunk: Buffer) => {
          if (!port.closedByUs) handlers.onData(chunk);
        });
        stream.on('close', (closeErr: Error | null) => {
          if (!port.closedByUs) handlers.onClose(`port ${path} closed${closeErr ? `: ${closeErr.message}` : ''}`);
        });
        resolve(port);
      });
    });
  }

  get isOpen(): boolean {
    return this.stream.isOpen && !this.closedByUs;
  }

  /** Bytes accepted by write() and not yet handed to the operating system. */
  get writableLength(): number {
    return this.stream.writableLength;
  }

  /** Queues bytes; never blocks. Returns false when the port is not open. */
  write(bytes: Buffer): boolean {
    if (!this.isOpen) return false;
    this.stream.write(bytes);
    return true;
  }

  /** Closes the port; no handler is called after this. */
  close(): Promise<void> {
    this.closedByUs = true;
    this.stream.removeAllListeners('data');
    if (!this.stream.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.stream.close(() => resolve()));
  }
}
