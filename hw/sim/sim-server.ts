/**
 * The simulator's listening socket (unix or TCP): each connection becomes the card's host stream
 * (SimCard.attach), the newest replacing any older one. QEMU's serial chardev, the driver's socket
 * binding and the pty bridge's socat all connect here.
 */
import { unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TonewallError } from '../base/errors';
import type { Logger } from '../base/logger';
import { formatSimAddress, parseSimAddress, type SimAddress } from './sim-address';

export interface SimServerOptions {
  /** `unix:/path` or `tcp:HOST:PORT`. */
  listen: string;
  onConnection: (socket: Socket) => void;
  log: Logger;
}

export class SimServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private bound: SimAddress | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: SimServerOptions) {
    this.log = opts.log.child('sim-server');
  }

  /** The address actually bound (with the real port when 0 was asked for). */
  get address(): SimAddress {
    if (!this.bound) throw new TonewallError('SIM_NOT_STARTED', 'the simulator server is not listening (call start() first)');
    return this.bound;
  }

  get addressText(): string {
    return formatSimAddress(this.address);
  }

  async start(): Promise<void> {
    const want = parseSimAddress(this.opts.listen);
    if (want.kind === 'unix') removeStale(want.path);
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.log.debug('connection', { address: this.opts.listen });
      this.opts.onConnection(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new TonewallError('SIM_LISTEN', `cannot listen on ${this.opts.listen}: ${err.message}`)));
      if (want.kind === 'unix') server.listen(want.path, resolve);
      else server.listen(want.port, want.host, resolve);
    });
    server.on('error', (err) => this.log.error('server error', { err }));
    this.server = server;
    const addr = server.address();
    this.bound = want.kind === 'unix' ? want : { kind: 'tcp', host: want.host, port: (addr as AddressInfo).port };
    this.log.info('listening', { address: this.addressText });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.bound?.kind === 'unix') removeStale(this.bound.path);
  }
}

function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
