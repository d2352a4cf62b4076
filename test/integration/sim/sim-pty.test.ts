import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { nullLogger } from '../../../hw/base/logger';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import { makeTempDir, requireBinary } from '../../lib/sim-env';
import { TestHost } from '../../lib/sim-host';

/** Opens the pty with the real serialport binding (as the driver does) and wraps it in a test host. */
async function openTty(path: string): Promise<{ port: SerialPort; host: TestHost }> {
  const port = new SerialPort({ path, baudRate: 921600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return { port, host: new TestHost(port) };
}

function closeTty(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

describe('sim card over a real pty (socat) with the serialport binding (integration)', function () {
  this.timeout(20000);
  let dir: ReturnType<typeof makeTempDir>;
  let sim: SimulatorHandle;
  let tty: { port: SerialPort; host: TestHost };

  before(function () {
    requireBinary(this, 'socat');
  });

  beforeEach(async () => {
    dir = makeTempDir('sim-pty');
    sim = await runSimulator({
      listen: `unix:${join(dir.path, 'card.sock')}`,
      pty: join(dir.path, 'card-pty'),
      script: 'none',
      log: nullLogger,
      card: { keepaliveMs: 500, seed: 3 },
    });
    tty = await openTty(sim.ptyPath ?? '');
    tty.host.hello();
    tty.host.startKeepalives(200);
    await tty.host.waitFor('card-hello');
    await tty.host.waitFor('keepalive');
  });

  afterEach(async () => {
    tty.host.stopKeepalives();
    await closeTty(tty.port);
    await sim.stop();
    dir.cleanup();
  });

  it('exposes a pty path that is a real tty device', () => {
    assert.ok(sim.ptyPath);
    assert.match(realpathSync(sim.ptyPath), /^\/dev\/pts\/\d+$/);
  });

  it('hello, ring → off-hook → audio both ways (byte content) → caller hang-up drops loop current → on-hook', async () => {
    const call = sim.card.placeCall({
      port: 1,
      callerNumber: '5559870000',
      callerName: 'DAVE',
      ringCadence: [200, 400],
      audio: [{ speech: 500 }, { keys: '42', toneMs: 70, gapMs: 180 }],
      hangup: 'caller',
    });
    const { host } = tty;
    await host.waitFor('line-event', (m) => m.event.kind === 'ring-on');
    const req = host.command({ kind: 'off-hook', port: 1 });
    assert.equal((await host.waitFor('command-result', (m) => m.requestId === req)).status, 'ok');
    const sentByHost = Buffer.alloc(80 * 10);
    for (let i = 0; i < sentByHost.length; i++) sentByHost[i] = (i * 13 + 5) & 0xff;
    for (let i = 0; i < 10; i++) host.send({ type: 'pcm', tdmSample: i * 80, chunks: [{ channel: 1, data: sentByHost.subarray(i * 80, i * 80 + 80) }] });
    await host.waitFor('line-event', (m) => m.event.kind === 'loop-current' && !m.event.present, 10000, 'loop-current drop');
    assert.ok(host.pcmFor(1).equals(call.sent()), 'the caller’s audio crossed the pty unchanged');
    assert.ok(call.sent().length >= (500 + 2 * 250) * 8);
    assert.ok(call.heard().equals(sentByHost), 'the caller heard exactly what the host sent');
    const off = host.command({ kind: 'on-hook', port: 1 });
    assert.equal((await host.waitFor('command-result', (m) => m.requestId === off)).status, 'ok');
    assert.equal(call.endReason, 'caller-hangup');
  });

  it('the host closing and reopening the tty gets a fresh hello on its new host hello', async () => {
    await closeTty(tty.port);
    tty = await openTty(sim.ptyPath ?? '');
    const hello = new Promise<void>((resolve) => sim.card.once('host-hello', () => resolve()));
    tty.host.hello();
    tty.host.startKeepalives(200);
    await hello;
    const cardHello = await tty.host.waitFor('card-hello');
    assert.equal(cardHello.ports.length, 4);
  });

  it('a dropped link brings the pty back (socat restarted) and the reopened tty gets a hello', async () => {
    const closed = new Promise<void>((resolve) => tty.port.once('close', () => resolve()));
    sim.card.dropLink();
    await closed;
    const reconnected = new Promise<void>((resolve) => sim.card.once('host-connected', () => resolve()));
    await reconnected; // socat started again and connected to the simulator
    tty = await openTty(sim.ptyPath ?? '');
    tty.host.hello();
    tty.host.startKeepalives(200);
    const hello = await tty.host.waitFor('card-hello');
    assert.equal(hello.law, 'ulaw');
  });

  it('stop() ends socat and removes the pty link', async () => {
    const path = sim.ptyPath ?? '';
    tty.host.stopKeepalives();
    await closeTty(tty.port);
    await sim.stop();
    assert.equal(existsSync(path), false);
    // afterEach stops again: stop() must be idempotent.
  });
});
