import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import type { PstnCall } from '../../../hw/sim/pstn-call';
import { runSimulator } from '../../../hw/sim/run-simulator';
import { socatAvailable } from '../../../hw/sim/pty-bridge';
import { makeTempDir } from '../../lib/sim-env';
import { TestHost } from '../../lib/sim-host';

describe('runSimulator (the `tonewall sim` entry point)', function () {
  this.timeout(15000);
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => (dir = makeTempDir('sim-run')));
  afterEach(() => dir.cleanup());

  it('plays a JSON call script file: the call rings the port it names and plays a WAV item', async () => {
    const wav = Buffer.alloc(44 + 1600);
    wav.write('RIFF', 0, 'ascii');
    wav.writeUInt32LE(36 + 1600, 4);
    wav.write('WAVEfmt ', 8, 'ascii');
    wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20);
    wav.writeUInt16LE(1, 22);
    wav.writeUInt32LE(8000, 24);
    wav.writeUInt32LE(16000, 28);
    wav.writeUInt16LE(2, 32);
    wav.writeUInt16LE(16, 34);
    wav.write('data', 36, 'ascii');
    wav.writeUInt32LE(1600, 40);
    for (let i = 0; i < 800; i++) wav.writeInt16LE(Math.round(8000 * Math.sin(i / 3)), 44 + 2 * i);
    writeFileSync(join(dir.path, 'hello.wav'), wav);
    const scriptPath = join(dir.path, 'calls.json');
    writeFileSync(
      scriptPath,
      JSON.stringify({ calls: [{ port: 3, callerNumber: '5553330000', callerName: 'FILE', ringCadence: [100, 200], audio: [{ wav: join(dir.path, 'hello.wav') }], hangup: 'caller' }] }),
    );
    const sim = await runSimulator({ listen: `unix:${join(dir.path, 's.sock')}`, script: scriptPath, log: nullLogger });
    try {
      const started = new Promise<PstnCall>((resolve) => sim.card.once('call-started', resolve));
      const socket = connect(join(dir.path, 's.sock'));
      const host = new TestHost(socket);
      host.hello();
      host.startKeepalives(200);
      const call = await started;
      assert.equal(call.port, 3);
      await host.waitFor('line-event', (m) => m.event.kind === 'ring-on' && m.event.port === 3);
      host.command({ kind: 'off-hook', port: 3 });
      await host.waitFor('line-event', (m) => m.event.kind === 'loop-current' && !m.event.present);
      assert.equal(call.sent().length, 800, 'the 100 ms WAV, then the caller hung up');
      host.close();
    } finally {
      await sim.stop();
    }
  });

  it('refuses a bad script file before listening, naming the file and the problem', async () => {
    const scriptPath = join(dir.path, 'bad.json');
    writeFileSync(scriptPath, JSON.stringify([{ port: 99, callerNumber: '1' }]));
    await assert.rejects(runSimulator({ listen: `unix:${join(dir.path, 's.sock')}`, script: scriptPath, log: nullLogger }), (err: Error) => err.message.includes('bad.json') && err.message.includes('0.port'));
  });

  it('demo: places calls by itself', async () => {
    const sim = await runSimulator({ listen: 'tcp:127.0.0.1:0', script: 'demo', log: nullLogger, demo: { intervalMs: 1000, firstCallMs: 10, callDurationMs: 1000 } });
    try {
      const call = await new Promise<PstnCall>((resolve) => sim.card.once('call-started', resolve));
      assert.equal(call.direction, 'inbound');
      assert.equal(call.state, 'ringing');
    } finally {
      await sim.stop();
    }
  });

  it('a pty path without socat on PATH fails with a clear error and leaves nothing listening', async () => {
    const oldPath = process.env.PATH;
    process.env.PATH = dir.path;
    try {
      assert.equal(socatAvailable(), false);
      await assert.rejects(
        runSimulator({ listen: `unix:${join(dir.path, 's.sock')}`, pty: join(dir.path, 'pty'), script: 'none', log: nullLogger }),
        /socat not found/,
      );
    } finally {
      process.env.PATH = oldPath;
    }
    await new Promise<void>((resolve) => {
      const s = connect(join(dir.path, 's.sock'));
      s.once('error', (err: NodeJS.ErrnoException) => {
        assert.ok(err.code === 'ENOENT' || err.code === 'ECONNREFUSED', String(err.code));
        resolve();
      });
      s.once('connect', () => assert.fail('the socket should be closed'));
    });
  });
});
