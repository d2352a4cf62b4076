import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { SocketBinding } from '../../../hw/card/socket-binding';
import { makeTempDir } from '../../lib/sim-env';

/** One-connection unix server; resolves with the server side of the connection when it comes. */
function serve(path: string): { server: net.Server; conn: Promise<net.Socket> } {
  let resolveConn: (s: net.Socket) => void = () => undefined;
  const conn = new Promise<net.Socket>((r) => (resolveConn = r));
  const server = net.createServer((s) => resolveConn(s));
  server.listen(path);
  return { server, conn };
}

describe('SocketBinding as a serialport BindingInterface (bindings-interface contract)', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => (dir = makeTempDir('sock-binding')));
  afterEach(() => dir.cleanup());

  it('reads and writes bytes, and a read pending at close() rejects with canceled', async () => {
    const path = join(dir.path, 's.sock');
    const { server, conn } = serve(path);
    await new Promise<void>((r) => server.once('listening', () => r()));
    const port = await new SocketBinding().open({ path: `unix:${path}`, baudRate: 9600 });
    const peer = await conn;
    assert.equal(port.openOptions.dataBits, 8);
    const got = new Promise<Buffer>((r) => peer.once('data', r));
    await port.write(Buffer.from('to peer'));
    assert.equal((await got).toString(), 'to peer');
    peer.write(Buffer.from('abcdef'));
    const buf = Buffer.alloc(4);
    const first = await port.read(buf, 0, 4);
    assert.equal(first.bytesRead, 4);
    assert.equal(buf.toString(), 'abcd');
    const second = await port.read(buf, 1, 3);
    assert.equal(buf.subarray(1, 1 + second.bytesRead).toString(), 'ef');
    const pending = assert.rejects(port.read(buf, 0, 4), (e: unknown) => (e as { canceled?: boolean }).canceled === true);
    await port.close();
    await pending;
    assert.equal(port.isOpen, false);
    await assert.rejects(port.write(Buffer.from('x')), (e: unknown) => (e as { canceled?: boolean }).canceled === true);
    peer.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a peer that closes makes the pending read fail without canceled (a disconnect)', async () => {
    const path = join(dir.path, 'p.sock');
    const { server, conn } = serve(path);
    await new Promise<void>((r) => server.once('listening', () => r()));
    const port = await new SocketBinding().open({ path: `unix:${path}`, baudRate: 9600 });
    const peer = await conn;
    const pending = assert.rejects(port.read(Buffer.alloc(8), 0, 8), (e: unknown) => (e as { canceled?: boolean }).canceled !== true && /closed by the peer/.test((e as Error).message));
    peer.end();
    await pending;
    await port.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('refuses a bad address and an absent socket, naming them', async () => {
    await assert.rejects(new SocketBinding().open({ path: '/dev/ttyACM0', baudRate: 9600 }), /no known scheme/);
    const absent = join(dir.path, 'absent.sock');
    await assert.rejects(new SocketBinding().open({ path: `unix:${absent}`, baudRate: 9600 }), (e: unknown) => (e as Error).message.startsWith(`cannot connect to unix:${absent}:`));
  });
});
