/**
 * An in-memory serialport BindingInterface for driver unit tests: each open() creates a port whose
 * writes go to a peer (the fake card) and whose reads come from what the peer sends. The peer can
 * unplug the port (a disconnect, as when a USB card is pulled), and opens can be made to fail.
 */
import type { BindingInterface, BindingPortInterface, OpenOptions, PortInfo, PortStatus } from '@serialport/bindings-interface';

class CanceledError extends Error {
  readonly canceled = true;
}

export interface MemoryPeer {
  readonly path: string;
  readonly isOpen: boolean;
  /** Bytes toward the host. */
  send(bytes: Uint8Array): void;
  /** The device goes away: the host's read fails with a non-canceled error. */
  unplug(): void;
  onData(fn: (bytes: Buffer) => void): void;
  onClose(fn: () => void): void;
}

export class MemoryPort implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  private readonly queue: Buffer[] = [];
  private pending: { buffer: Buffer; offset: number; length: number; resolve: (r: { buffer: Buffer; bytesRead: number }) => void; reject: (e: Error) => void } | undefined;
  private unplugged = false;
  private readonly dataFns: ((b: Buffer) => void)[] = [];
  private readonly closeFns: (() => void)[] = [];
  readonly peer: MemoryPeer;

  constructor(options: OpenOptions) {
    this.openOptions = { dataBits: 8, lock: true, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: true, ...options };
    const peerOpen = (): boolean => this.isOpen && !this.unplugged;
    this.peer = {
      path: options.path,
      get isOpen() {
        return peerOpen();
      },
      send: (bytes) => {
        if (!peerOpen()) return;
        this.queue.push(Buffer.from(bytes));
        this.serve();
      },
      unplug: () => {
        this.unplugged = true;
        this.serve();
      },
      onData: (fn) => this.dataFns.push(fn),
      onClose: (fn) => this.closeFns.push(fn),
    };
  }

  private serve(): void {
    const p = this.pending;
    if (!p) return;
    if (this.unplugged) {
      this.pending = undefined;
      p.reject(new Error('device unplugged'));
      return;
    }
    const head = this.queue.shift();
    if (!head) return;
    this.pending = undefined;
    const n = Math.min(head.length, p.length);
    head.copy(p.buffer, p.offset, 0, n);
    if (n < head.length) this.queue.unshift(head.subarray(n));
    p.resolve({ buffer: p.buffer, bytesRead: n });
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) return Promise.reject(new CanceledError('closed'));
    return new Promise((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
      this.serve();
    });
  }

  write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) return Promise.reject(new CanceledError('closed'));
    if (this.unplugged) return Promise.reject(new Error('device unplugged'));
    const copy = Buffer.from(buffer);
    for (const fn of this.dataFns) fn(copy);
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    this.isOpen = false;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new CanceledError('closed'));
    for (const fn of this.closeFns) fn();
    return Promise.resolve();
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
    return Promise.resolve();
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

export class MemoryBinding implements BindingInterface<MemoryPort> {
  opens = 0;
  /** The next n opens fail as if the device were absent. */
  failOpens = 0;
  current: MemoryPort | undefined;
  private readonly openFns: ((peer: MemoryPeer) => void)[] = [];

  onOpen(fn: (peer: MemoryPeer) => void): void {
    this.openFns.push(fn);
  }

  list(): Promise<PortInfo[]> {
    return Promise.resolve([]);
  }

  open(options: OpenOptions): Promise<MemoryPort> {
    this.opens++;
    if (this.failOpens > 0) {
      this.failOpens--;
      return Promise.reject(new Error(`Error: No such file or directory, cannot open ${options.path}`));
    }
    const port = new MemoryPort(options);
    this.current = port;
    for (const fn of this.openFns) fn(port.peer);
    return Promise.resolve(port);
  }
}

/** Lets promises, microtasks and immediates run until `cond` holds; throws naming `what` if it never does. */
export async function waitFor(cond: () => boolean, what: string, maxTurns = 2000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`waited ${maxTurns} event-loop turns for ${what}`);
}

/** Lets pending I/O callbacks run (for asserting that something did NOT happen). */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
