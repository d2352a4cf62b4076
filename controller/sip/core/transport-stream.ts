/**
 * SIP over TCP and TLS, RFC 3261 §18 behind the `SipTransport` interface, so the transaction layer
 * is unchanged: `reliable` is true, which stops Timer A/E/G retransmissions and zeroes Timers
 * D/I/J/K (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
 *
 * - Framing by Content-Length (§18.3, `transport-framer.ts`); a framing error closes the connection.
 * - Connection reuse (§18.1.1, §18.2.2): one connection per remote address:port, whoever opened it.
 *   Responses go back on the connection the request came in on: a destination that matches no
 *   connection by address:port uses a connection accepted from that address (the Via port of a
 *   TCP peer is its listening port, not the connection's).
 * - Sends to a peer with no connection open one (messages queue until it is up). A failed connect
 *   or TLS verification drops the queued messages and emits `error` with a `SipTransportError`
 *   naming the destination (the trunk manager treats it as a transport error for failover).
 * - RFC 5626 §4.4.1 keepalive: pings (CRLFCRLF) are answered with a pong (CRLF); with
 *   `keepaliveIntervalMs` > 0 we ping every connection we opened and close it when no pong comes
 *   within `keepalivePongTimeoutMs` (10 s by default, as §4.4.1 says).
 */
import type { Clock, TimerHandle } from '../../../hw/base/clock';
import { TonewallError, errorMessage } from '../../../hw/base/errors';
import type { Logger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import { SipStreamFramer } from './transport-framer';
import type { StreamServer, StreamSocket, StreamSocketFactory } from './transport-stream-sockets';
import type { RemoteInfo, SipTransport } from './transport';

/** A transport failure toward one destination (connect refused, TLS verification, framing). */
export class SipTransportError extends TonewallError {
  constructor(code: string, message: string, readonly destination: RemoteInfo) {
    super(code, message, { address: destination.address, port: destination.port });
  }
}

export interface StreamTransportOptions {
  protocol: 'TCP' | 'TLS';
  sockets: StreamSocketFactory;
  clock: Clock;
  log: Logger;
  /** RFC 5626 keepalive pings on connections we opened; 0 = off. */
  keepaliveIntervalMs?: number;
  keepalivePongTimeoutMs?: number;
  connectTimeoutMs?: number;
}

interface Connection {
  key: string;
  remote: RemoteInfo;
  socket: StreamSocket | undefined;
  /** Messages waiting for the connect to finish. */
  queue: Buffer[];
  inbound: boolean;
  framer: SipStreamFramer;
  keepalive: TimerHandle | undefined;
  pongDeadline: TimerHandle | undefined;
}

const PING = Buffer.from('\r\n\r\n', 'latin1');
const PONG = Buffer.from('\r\n', 'latin1');

function keyOf(address: string, port: number): string {
  return `${address}|${port}`;
}

export class StreamTransport extends TypedEmitter<{ message: [data: Buffer, from: RemoteInfo]; error: [err: Error] }> implements SipTransport {
  readonly reliable = true;
  readonly protocol: 'TCP' | 'TLS';
  private server: StreamServer | undefined;
  private readonly conns = new Map<string, Connection>();
  private closed = false;
  private readonly log: Logger;
  private acceptFilter: ((remote: RemoteInfo) => boolean) | undefined;

  constructor(private readonly opts: StreamTransportOptions) {
    super();
    this.protocol = opts.protocol;
    this.log = opts.log.child(`sip-${opts.protocol.toLowerCase()}`);
  }

  /** Listens on address:port (0 = ephemeral). */
  async open(address: string, port: number): Promise<void> {
    this.server = await this.opts.sockets.listen(
      address,
      port,
      (s) => this.accepted(s),
      (err) => {
        this.log.warn(`SIP ${this.protocol} connection refused`, { error: errorMessage(err) });
        this.emit('error', err);
      },
    );
  }

  get localAddress(): RemoteInfo {
    return this.server?.address() ?? { address: '0.0.0.0', port: 0 };
  }

  /** Decides on each accepted connection (the SIP edge: unknown or banned sources are closed at once). */
  setAcceptFilter(filter: ((remote: RemoteInfo) => boolean) | undefined): void {
    this.acceptFilter = filter;
  }

  /** Open connections (for counters and tests). */
  get connectionCount(): number {
    return this.conns.size;
  }

  send(data: Buffer, address: string, port: number): void {
    if (this.closed) return;
    const conn = this.conns.get(keyOf(address, port)) ?? (isResponse(data) ? this.inboundFrom(address) : undefined) ?? this.dial(address, port);
    if (conn.socket) conn.socket.write(data);
    else conn.queue.push(data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.conns.values()]) this.drop(c, undefined);
    await this.server?.close();
  }

  private inboundFrom(address: string): Connection | undefined {
    for (const c of this.conns.values()) if (c.inbound && c.remote.address === address && c.socket) return c;
    return undefined;
  }

  private newConnection(remote: RemoteInfo, inbound: boolean, socket: StreamSocket | undefined): Connection {
    const conn: Connection = { key: keyOf(remote.address, remote.port), remote, socket, queue: [], inbound, framer: new SipStreamFramer(), keepalive: undefined, pongDeadline: undefined };
    this.conns.set(conn.key, conn);
    return conn;
  }

  private accepted(s: StreamSocket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    const remote = { address: normaliseAddress(s.remoteAddress ?? '0.0.0.0'), port: s.remotePort ?? 0 };
    if (this.acceptFilter && !this.acceptFilter(remote)) {
      s.destroy();
      return;
    }
    const old = this.conns.get(keyOf(remote.address, remote.port));
    if (old) this.drop(old, undefined);
    const conn = this.newConnection(remote, true, s);
    this.log.debug(`SIP ${this.protocol} connection accepted`, { from: `${remote.address}:${remote.port}` });
    this.attach(conn, s);
  }

  private dial(address: string, port: number): Connection {
    const conn = this.newConnection({ address, port }, false, undefined);
    this.opts.sockets.connect(address, port, this.opts.connectTimeoutMs ?? 5000).then(
      (s) => {
        if (this.closed || this.conns.get(conn.key) !== conn) {
          s.destroy();
          return;
        }
        conn.socket = s;
        this.attach(conn, s);
        for (const d of conn.queue) s.write(d);
        conn.queue = [];
        this.armKeepalive(conn);
      },
      (err: unknown) => {
        if (this.conns.get(conn.key) === conn) this.conns.delete(conn.key);
        const e = new SipTransportError(errorCode(err), `SIP ${this.protocol} connection to ${address}:${port} failed: ${errorMessage(err)}`, { address, port });
        this.log.warn(e.message, { dropped: conn.queue.length });
        conn.queue = [];
        if (!this.closed) this.emit('error', e);
      },
    );
    return conn;
  }

  private attach(conn: Connection, s: StreamSocket): void {
    s.on('data', (chunk) => this.onData(conn, chunk));
    s.on('error', (err) => this.log.debug(`SIP ${this.protocol} socket error`, { peer: `${conn.remote.address}:${conn.remote.port}`, error: err.message }));
    s.on('close', () => {
      if (this.conns.get(conn.key) === conn) this.drop(conn, undefined);
    });
  }

  private onData(conn: Connection, chunk: Buffer): void {
    let frames;
    try {
      frames = conn.framer.push(chunk, conn.pongDeadline !== undefined);
    } catch (err) {
      this.drop(conn, new SipTransportError('ESIPFRAME', `SIP ${this.protocol} stream from ${conn.remote.address}:${conn.remote.port} closed: ${errorMessage(err)}`, conn.remote));
      return;
    }
    for (const f of frames) {
      if (f.kind === 'ping') conn.socket?.write(PONG);
      else if (f.kind === 'pong') {
        conn.pongDeadline?.cancel();
        conn.pongDeadline = undefined;
      } else this.emit('message', f.data, conn.remote);
    }
  }

  private armKeepalive(conn: Connection): void {
    const every = this.opts.keepaliveIntervalMs ?? 0;
    if (every <= 0) return;
    conn.keepalive = this.opts.clock.setInterval(() => {
      if (conn.pongDeadline) return;
      conn.socket?.write(PING);
      const waitMs = this.opts.keepalivePongTimeoutMs ?? 10_000;
      conn.pongDeadline = this.opts.clock.setTimeout(() => {
        conn.pongDeadline = undefined;
        this.drop(conn, new SipTransportError('ESIPKEEPALIVE', `SIP ${this.protocol} connection to ${conn.remote.address}:${conn.remote.port} closed: no keepalive pong within ${waitMs} ms (RFC 5626 §4.4.1)`, conn.remote));
      }, waitMs);
    }, every);
  }

  private drop(conn: Connection, err: SipTransportError | undefined): void {
    if (this.conns.get(conn.key) === conn) this.conns.delete(conn.key);
    conn.keepalive?.cancel();
    conn.pongDeadline?.cancel();
    conn.socket?.destroy();
    conn.socket = undefined;
    if (err) {
      this.log.warn(err.message);
      if (!this.closed) this.emit('error', err);
    }
  }
}

function isResponse(data: Buffer): boolean {
  return data.length >= 8 && data.toString('latin1', 0, 8) === 'SIP/2.0 ';
}

/** "::ffff:127.0.0.1" (an IPv4 peer on a dual-stack socket) → "127.0.0.1". */
function normaliseAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function errorCode(err: unknown): string {
  return err instanceof TonewallError ? err.code : 'ESIPCONNECT';
}
