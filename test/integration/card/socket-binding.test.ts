import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { LineEvent } from '../../../hw/card/types';
import { FakeCard } from '../../lib/link-fake-card';
import { waitUntil } from '../../lib/link-pty';
import { makeTempDir } from '../../lib/sim-env';

/** A card peer listening on a socket: each host connection is a new FakeCard session. */
function listenCard(fake: FakeCard, listenOn: string | { port: number; host: string }): Promise<{ server: net.Server; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    fake.attach({ send: (b) => void s.write(b) });
    s.on('data', (b) => fake.feed(b));
    s.on('error', () => undefined);
  });
  return new Promise((resolve) => {
    if (typeof listenOn === 'string') server.listen(listenOn, () => resolve({ server, sockets }));
    else server.listen(listenOn.port, listenOn.host, () => resolve({ server, sockets }));
  });
}

function closeServer(server: net.Server, sockets: net.Socket[]): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('SerialCard over SocketBinding (unix socket and TCP)', function () {
  this.timeout(20000);
  let dir: ReturnType<typeof makeTempDir>;

  beforeEach(() => {
    dir = makeTempDir('card-sock');
  });
  afterEach(() => dir.cleanup());

  it('unix socket: handshake, events, commands, PCM; peer closes → link-down → reconnect → link-up', async () => {
    const path = join(dir.path, 'card.sock');
    const fake = new FakeCard({ helloOnAttach: true });
    const { server, sockets } = await listenCard(fake, path);
    const card = new SerialCard({ transport: 'socket', socket: `unix:${path}`, baudRate: 921600, keepaliveMs: 200, keepaliveMissLimit: 5, reconnectMinMs: 50, reconnectMaxMs: 200, log: nullLogger });
    const lines: LineEvent[] = [];
    const downs: string[] = [];
    let ups = 0;
    card.on('line', (e) => lines.push(e));
    card.on('link-down', (r) => downs.push(r));
    card.on('link-up', () => ups++);
    const pcm: Buffer[] = [];
    card.on('pcm', (_c, d) => pcm.push(d));
    try {
      await card.start();
      await waitUntil(() => card.state === 'up', 'link up over the unix socket');
      assert.equal(ups, 1, 'hello on attach plus the answer make one link-up');
      await card.command({ kind: 'off-hook', port: 1 });
      await waitUntil(() => lines.length === 1, 'hook-state');
      card.writePcm(1, Buffer.alloc(80, 0x42));
      fake.sendPcm([{ channel: 3, data: Buffer.alloc(80, 0x24) }]);
      await waitUntil(() => pcm.length === 1 && fake.pcmIn.has(1), 'PCM both ways');
      assert.deepEqual(fake.pcmIn.get(1), Buffer.alloc(80, 0x42));
      assert.deepEqual(pcm[0], Buffer.alloc(80, 0x24));
      sockets[0]?.destroy();
      await waitUntil(() => downs.length === 1, 'link-down when the peer closes');
      assert.match(downs[0] ?? '', /closed/);
      await waitUntil(() => ups === 2 && card.state === 'up', 'link-up after reconnect');
      assert.equal(fake.sessions, 2);
      assert.deepEqual(fake.violations, []);
    } finally {
      await card.stop();
      await closeServer(server, sockets);
    }
  });

  it('tcp on 127.0.0.1: handshake and a command', async () => {
    const fake = new FakeCard();
    const { server, sockets } = await listenCard(fake, { port: 0, host: '127.0.0.1' });
    const addr = server.address();
    assert.ok(addr && typeof addr === 'object');
    const card = new SerialCard({ transport: 'socket', socket: `tcp:127.0.0.1:${addr.port}`, baudRate: 921600, keepaliveMs: 200, keepaliveMissLimit: 5, reconnectMinMs: 50, reconnectMaxMs: 200, log: nullLogger });
    try {
      await card.start();
      await waitUntil(() => card.state === 'up', 'link up over TCP');
      await card.command({ kind: 'dial', port: 2, digits: '911' });
      assert.deepEqual(fake.receivedOf('hook-command')[0]?.command, { kind: 'dial', port: 2, digits: '911' });
    } finally {
      await card.stop();
      await closeServer(server, sockets);
    }
  });

  it('nothing listening: stays disconnected, retrying with backoff, and counts reconnects', async () => {
    const card = new SerialCard({ transport: 'socket', socket: `unix:${join(dir.path, 'absent.sock')}`, baudRate: 921600, keepaliveMs: 200, keepaliveMissLimit: 5, reconnectMinMs: 20, reconnectMaxMs: 40, log: nullLogger });
    try {
      await card.start();
      await waitUntil(() => card.counters.reconnects >= 2, 'two reconnect attempts');
      assert.notEqual(card.state, 'up');
    } finally {
      await card.stop();
    }
    assert.equal(card.state, 'disconnected');
  });
});
