/**
 * The stream transport (RFC 3261 §18) on fake sockets and a manual clock: messages framed and
 * passed up with their connection's address, responses routed back on the connection a request
 * came in on (§18.2.2), RFC 5626 §4.4.1 keepalive (pong to a ping; our pings and the pong timeout),
 * a framing error closing the connection with an error naming the peer.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { nullLogger } from '../../../hw/base/logger';
import { StreamTransport, SipTransportError } from '../../../controller/sip/core/transport-stream';
import type { StreamSocket, StreamSocketFactory } from '../../../controller/sip/core/transport-stream-sockets';
import { ManualClock } from '../../lib/manual-clock';

class FakeSocket extends EventEmitter implements StreamSocket {
  readonly written: string[] = [];
  destroyed = false;
  constructor(readonly remoteAddress: string, readonly remotePort: number) {
    super();
  }
  write(data: Buffer): boolean {
    if (this.destroyed) throw new Error('write after destroy');
    this.written.push(data.toString('latin1'));
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function fakeFactory(): { factory: StreamSocketFactory; accept(s: FakeSocket): void; dialled: FakeSocket[]; refuse: Set<number> } {
  let onSocket: ((s: StreamSocket) => void) | undefined;
  const dialled: FakeSocket[] = [];
  const refuse = new Set<number>();
  return {
    dialled,
    refuse,
    accept: (s) => onSocket?.(s),
    factory: {
      listen: (_a, _p, cb) => {
        onSocket = cb;
        return Promise.resolve({ address: () => ({ address: '127.0.0.1', port: 5062 }), close: () => Promise.resolve() });
      },
      connect: (address, port) => {
        if (refuse.has(port)) return Promise.reject(new Error('connect ECONNREFUSED'));
        const s = new FakeSocket(address, port);
        dialled.push(s);
        return Promise.resolve(s);
      },
    },
  };
}

const REQ = 'OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.9:5060;branch=z9hG4bKx\r\nMax-Forwards: 70\r\nFrom: <sip:b@10.0.0.9>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
const RES = Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('SIP stream transport (RFC 3261 §18, RFC 5626 §4.4.1)', () => {
  it('§18.3: a message split over chunks arrives whole, from the connection\'s address; §18.2.2: the response goes back on it', async () => {
    const f = fakeFactory();
    const t = new StreamTransport({ protocol: 'TCP', sockets: f.factory, clock: new ManualClock(), log: nullLogger });
    await t.open('127.0.0.1', 0);
    const got: Array<{ text: string; from: string }> = [];
    t.on('message', (d, from) => got.push({ text: d.toString(), from: `${from.address}:${from.port}` }));
    const s = new FakeSocket('::ffff:10.0.0.9', 40001);
    f.accept(s);
    s.emit('data', Buffer.from(REQ.slice(0, 30)));
    s.emit('data', Buffer.from(REQ.slice(30)));
    assert.deepEqual(got, [{ text: REQ, from: '10.0.0.9:40001' }]);
    t.send(RES, '10.0.0.9', 5060); // the Via port, not the connection's
    assert.deepEqual(s.written, [RES.toString()]);
    assert.equal(f.dialled.length, 0, 'no new connection for the response');
  });

  it('RFC 5626 §4.4.1: a ping (CRLFCRLF) from the peer is answered with a pong (CRLF)', async () => {
    const f = fakeFactory();
    const t = new StreamTransport({ protocol: 'TLS', sockets: f.factory, clock: new ManualClock(), log: nullLogger });
    await t.open('127.0.0.1', 0);
    const s = new FakeSocket('10.0.0.9', 40002);
    f.accept(s);
    s.emit('data', Buffer.from('\r\n\r\n'));
    assert.deepEqual(s.written, ['\r\n']);
  });

  it('§18.1.1: requests to a peer open one connection, queue until it is up, and reuse it', async () => {
    const f = fakeFactory();
    const t = new StreamTransport({ protocol: 'TCP', sockets: f.factory, clock: new ManualClock(), log: nullLogger });
    await t.open('127.0.0.1', 0);
    t.send(Buffer.from(REQ), '10.0.0.20', 5060);
    t.send(Buffer.from(REQ), '10.0.0.20', 5060);
    await settle();
    t.send(Buffer.from(REQ), '10.0.0.20', 5060);
    assert.equal(f.dialled.length, 1);
    assert.equal(f.dialled[0]?.written.length, 3);
    assert.equal(t.connectionCount, 1);
  });

  it('keepalive: we ping every interval; no pong within the timeout closes the connection with an error naming the peer', async () => {
    const f = fakeFactory();
    const clock = new ManualClock();
    const t = new StreamTransport({ protocol: 'TCP', sockets: f.factory, clock, log: nullLogger, keepaliveIntervalMs: 30_000, keepalivePongTimeoutMs: 10_000 });
    await t.open('127.0.0.1', 0);
    const errors: Error[] = [];
    t.on('error', (e) => errors.push(e));
    t.send(Buffer.from(REQ), '10.0.0.20', 5060);
    await settle();
    const s = f.dialled[0] ?? assert.fail('dialled');
    clock.advance(30_000);
    assert.equal(s.written.at(-1), '\r\n\r\n');
    s.emit('data', Buffer.from('\r\n')); // pong
    clock.advance(30_000);
    assert.equal(s.written.filter((w) => w === '\r\n\r\n').length, 2);
    clock.advance(10_000);
    assert.equal(s.destroyed, true);
    assert.ok(errors[0] instanceof SipTransportError);
    assert.match(errors[0].message, /10\.0\.0\.20:5060 closed: no keepalive pong within 10000 ms/);
    assert.equal(t.connectionCount, 0);
  });

  it('a refused connect drops the queued messages and emits a SipTransportError with the destination', async () => {
    const f = fakeFactory();
    f.refuse.add(5099);
    const t = new StreamTransport({ protocol: 'TCP', sockets: f.factory, clock: new ManualClock(), log: nullLogger });
    await t.open('127.0.0.1', 0);
    const err = new Promise<Error>((resolve) => t.once('error', resolve));
    t.send(Buffer.from(REQ), '10.0.0.30', 5099);
    const e = await err;
    assert.ok(e instanceof SipTransportError);
    assert.deepEqual(e.destination, { address: '10.0.0.30', port: 5099 });
    assert.match(e.message, /SIP TCP connection to 10\.0\.0\.30:5099 failed: connect ECONNREFUSED/);
  });

  it('§18.3: a message without Content-Length closes that connection (the stream cannot be resynchronised)', async () => {
    const f = fakeFactory();
    const t = new StreamTransport({ protocol: 'TCP', sockets: f.factory, clock: new ManualClock(), log: nullLogger });
    await t.open('127.0.0.1', 0);
    const errors: Error[] = [];
    t.on('error', (e) => errors.push(e));
    const s = new FakeSocket('10.0.0.9', 40003);
    f.accept(s);
    s.emit('data', Buffer.from(REQ.replace('Content-Length: 0\r\n', '')));
    assert.equal(s.destroyed, true);
    assert.match(errors[0]?.message ?? '', /stream from 10\.0\.0\.9:40003 closed: .*no Content-Length/);
  });
});
