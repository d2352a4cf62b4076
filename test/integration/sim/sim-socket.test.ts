import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import type { PstnCall } from '../../../hw/sim/pstn-call';
import { makeTempDir } from '../../lib/sim-env';
import { TestHost } from '../../lib/sim-host';
import { parseSimAddress } from '../../../hw/sim/sim-address';

function connectTo(address: string): Promise<Socket> {
  const a = parseSimAddress(address);
  return new Promise((resolve, reject) => {
    const s = a.kind === 'unix' ? connect(a.path) : connect(a.port, a.host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function once(sim: SimulatorHandle, event: 'call-ended' | 'call-answered' | 'caller-hung-up', pred: (c: PstnCall) => boolean = () => true): Promise<PstnCall> {
  return new Promise((resolve) => {
    const f = (c: PstnCall): void => {
      if (!pred(c)) return;
      sim.card.off(event, f);
      resolve(c);
    };
    sim.card.on(event, f);
  });
}

/** A host PCM pattern whose bytes say which chunk they came from. */
function hostChunk(i: number): Buffer {
  return Buffer.from(Array.from({ length: 80 }, (_, k) => (i * 7 + k) & 0xff));
}

describe('sim card over a unix socket (integration, real clock)', function () {
  this.timeout(20000);
  let dir: ReturnType<typeof makeTempDir>;
  let sim: SimulatorHandle;
  let host: TestHost;

  beforeEach(async () => {
    dir = makeTempDir('sim-sock');
    sim = await runSimulator({ listen: `unix:${join(dir.path, 'card.sock')}`, script: 'none', log: nullLogger, card: { keepaliveMs: 500, seed: 11 } });
    host = new TestHost(await connectTo(sim.address));
    await host.waitFor('card-hello');
    host.hello();
    await host.waitFor('card-hello', () => host.of('card-hello').length >= 2);
    host.startKeepalives(200);
  });

  afterEach(async () => {
    host.close();
    await sim.stop();
    dir.cleanup();
  });

  it('rings, is answered by off-hook, carries audio both ways byte for byte, and the caller hang-up drops loop current', async () => {
    const call = sim.card.placeCall({
      port: 1,
      callerNumber: '5551230000',
      callerName: 'CAROL',
      ringCadence: [200, 400],
      audio: [{ speech: 600 }, { keys: '123', toneMs: 80, gapMs: 200 }],
      hangup: 'caller',
    });
    await host.waitFor('line-event', (m) => m.event.kind === 'ring-on');
    const cid = await host.waitFor('line-event', (m) => m.event.kind === 'caller-id');
    assert.deepEqual(cid.event, { kind: 'caller-id', port: 1, number: '5551230000', name: 'CAROL' });
    const req = host.command({ kind: 'off-hook', port: 1 });
    assert.equal((await host.waitFor('command-result', (m) => m.requestId === req)).status, 'ok');
    await host.waitFor('line-event', (m) => m.event.kind === 'loop-current' && m.event.present);
    for (let i = 0; i < 20; i++) host.send({ type: 'pcm', tdmSample: i * 80, chunks: [{ channel: 1, data: hostChunk(i) }] });
    await host.waitFor('line-event', (m) => m.event.kind === 'loop-current' && !m.event.present, 10000, 'loop-current drop');
    assert.equal(call.state, 'caller-gone');
    // What the host received on channel 1 is exactly what the caller sent (speech + DTMF).
    const got = host.pcmFor(1);
    assert.equal(got.length, call.sent().length);
    assert.ok(got.equals(call.sent()), 'caller audio arrives unchanged');
    assert.ok(got.length >= (600 + 3 * 280) * 8, `${got.length} bytes of caller audio`);
    assert.ok(new Set(got).size > 20, 'caller audio is not constant');
    // What the caller heard is exactly what the host sent.
    assert.ok(call.heard().equals(Buffer.concat(Array.from({ length: 20 }, (_, i) => hostChunk(i)))));
    const ended = once(sim, 'call-ended');
    host.command({ kind: 'on-hook', port: 1 });
    assert.equal((await ended).endReason, 'caller-hangup');
    await host.waitFor('line-event', (m) => m.event.kind === 'hook-state' && !m.event.offHook);
  });

  it('host on-hook ends a connected call', async () => {
    const call = sim.card.placeCall({ port: 2, callerNumber: '1', ringCadence: [200, 400], audio: [{ speech: 300 }], hangup: 'wait-for-host' });
    await host.waitFor('line-event', (m) => m.event.kind === 'ring-on' && m.event.port === 2);
    const answered = once(sim, 'call-answered');
    host.command({ kind: 'off-hook', port: 2 });
    await answered;
    await host.waitFor('pcm', (m) => m.chunks.some((c) => c.channel === 2));
    const ended = once(sim, 'call-ended');
    const req = host.command({ kind: 'on-hook', port: 2 });
    assert.equal((await ended).endReason, 'host-hangup');
    assert.equal((await host.waitFor('command-result', (m) => m.requestId === req)).status, 'ok');
    assert.equal(call.state, 'ended');
    assert.equal(sim.card.isPortIdle(2), true);
  });

  it('a caller that is not answered gives up after its rings and the line falls idle', async () => {
    const call = sim.card.placeCall({ port: 4, callerNumber: '2', ringCadence: [100, 100], answerTimeoutRings: 2 });
    const ended = await once(sim, 'call-ended');
    assert.equal(ended, call);
    assert.equal(call.endReason, 'no-answer');
    assert.equal(host.of('line-event').filter((m) => m.event.kind === 'ring-on' && m.event.port === 4).length, 2);
  });

  it('greets a reconnecting host with a fresh hello', async () => {
    host.close();
    await new Promise<void>((resolve) => sim.card.once('host-disconnected', () => resolve()));
    host = new TestHost(await connectTo(sim.address));
    const hello = await host.waitFor('card-hello');
    assert.equal(hello.ports.length, 4);
    host.hello();
    host.startKeepalives(200);
    await host.waitFor('keepalive');
    assert.equal(sim.card.state, 'ready');
  });

  it('declares a silent host lost and keeps listening; the host coming back makes it ready again', async () => {
    const lost = new Promise<void>((resolve) => sim.card.once('host-lost', () => resolve()));
    host.stopKeepalives();
    await lost;
    assert.equal(sim.card.state, 'lost');
    const before = host.of('keepalive').length;
    host.send({ type: 'keepalive' });
    // The card sends keepalives only to a host it considers present.
    await host.waitFor('keepalive', () => host.of('keepalive').length > before);
    assert.equal(sim.card.state, 'ready');
  });
});

describe('sim card over TCP on 127.0.0.1 (integration)', () => {
  it('listens on a free port and says hello', async () => {
    const sim = await runSimulator({ listen: 'tcp:127.0.0.1:0', script: 'none', log: nullLogger });
    try {
      assert.match(sim.address, /^tcp:127\.0\.0\.1:[1-9][0-9]*$/);
      const host = new TestHost(await connectTo(sim.address));
      assert.equal((await host.waitFor('card-hello')).law, 'ulaw');
      host.close();
    } finally {
      await sim.stop();
    }
  });
});
