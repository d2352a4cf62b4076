/**
 * The simulator against the real card driver (hw/card SerialCard): over a socat pty opened with the
 * real serialport binding, and over a unix socket with the driver's socket binding.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { CardInfo, LineEvent } from '../../../hw/card/types';
import type { PstnCall } from '../../../hw/sim/pstn-call';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import { makeTempDir, requireBinary } from '../../lib/sim-env';

const LINK = { baudRate: 921600, keepaliveMs: 300, keepaliveMissLimit: 3, reconnectMinMs: 50, reconnectMaxMs: 200 };

function nextLine(card: SerialCard, pred: (e: LineEvent) => boolean, what: string, timeoutMs = 8000): Promise<LineEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      card.off('line', f);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const f = (e: LineEvent): void => {
      if (!pred(e)) return;
      clearTimeout(timer);
      card.off('line', f);
      resolve(e);
    };
    card.on('line', f);
  });
}

function linkUp(card: SerialCard): Promise<CardInfo> {
  return new Promise((resolve) => card.once('link-up', resolve));
}

for (const transport of ['pty', 'socket'] as const) {
  describe(`sim card ↔ real driver over ${transport === 'pty' ? 'a socat pty (bindings-cpp)' : 'a unix socket (SocketBinding)'} (integration)`, function () {
    this.timeout(30000);
    let dir: ReturnType<typeof makeTempDir>;
    let sim: SimulatorHandle;
    let card: SerialCard;

    before(function () {
      if (transport === 'pty') requireBinary(this, 'socat');
    });

    beforeEach(async () => {
      dir = makeTempDir(`sim-drv-${transport}`);
      sim = await runSimulator({
        listen: `unix:${join(dir.path, 'card.sock')}`,
        ...(transport === 'pty' ? { pty: join(dir.path, 'card-pty') } : {}),
        script: 'none',
        log: nullLogger,
        card: { keepaliveMs: LINK.keepaliveMs, keepaliveMissLimit: LINK.keepaliveMissLimit, seed: 21 },
      });
      card = new SerialCard({
        ...LINK,
        ...(transport === 'pty' ? { transport: 'serial', path: sim.ptyPath } : { transport: 'socket', socket: sim.address }),
        log: nullLogger,
      });
      const up = linkUp(card);
      await card.start();
      const info = await up;
      assert.equal(info.ports.length, 4);
      assert.equal(info.law, 'ulaw');
    });

    afterEach(async () => {
      await card.stop();
      await sim.stop();
      dir.cleanup();
    });

    it('an inbound call: ring and caller ID, off-hook answers, audio both ways byte for byte, caller hang-up, on-hook', async () => {
      const rx: Buffer[] = [];
      card.on('pcm', (ch, data) => {
        if (ch === 2) rx.push(Buffer.from(data));
      });
      const ringing = nextLine(card, (e) => e.kind === 'ring-on' && e.port === 2, 'ring-on');
      const cid = nextLine(card, (e) => e.kind === 'caller-id', 'caller-id');
      const call = sim.card.placeCall({
        port: 2,
        callerNumber: '5552220000',
        callerName: 'ERIN',
        ringCadence: [200, 400],
        audio: [{ speech: 700 }, { keys: '7', toneMs: 90, gapMs: 300 }],
        hangup: 'caller',
      });
      await ringing;
      assert.deepEqual(await cid, { kind: 'caller-id', port: 2, number: '5552220000', name: 'ERIN' });
      const loopOn = nextLine(card, (e) => e.kind === 'loop-current' && e.present, 'loop current');
      const loopOff = nextLine(card, (e) => e.kind === 'loop-current' && !e.present, 'loop-current drop');
      await card.command({ kind: 'off-hook', port: 2 });
      await loopOn;
      const toCaller = Buffer.alloc(80 * 15);
      for (let i = 0; i < toCaller.length; i++) toCaller[i] = (i * 31 + 1) & 0xff;
      for (let i = 0; i < 15; i++) card.writePcm(2, toCaller.subarray(i * 80, i * 80 + 80));
      await loopOff;
      assert.ok(Buffer.concat(rx).equals(call.sent()), 'the driver received exactly the caller’s audio');
      assert.ok(call.heard().equals(toCaller), 'the caller heard exactly what the driver wrote');
      const ended = new Promise<PstnCall>((resolve) => sim.card.once('call-ended', resolve));
      await card.command({ kind: 'on-hook', port: 2 });
      assert.equal((await ended).endReason, 'caller-hangup');
    });

    it('the host hangs up a connected call with on-hook', async () => {
      const ringing = nextLine(card, (e) => e.kind === 'ring-on' && e.port === 3, 'ring-on');
      const call = sim.card.placeCall({ port: 3, callerNumber: '1', ringCadence: [200, 400], audio: [{ speech: 400 }], hangup: 'wait-for-host' });
      await ringing;
      await card.command({ kind: 'off-hook', port: 3 });
      await card.command({ kind: 'on-hook', port: 3 });
      assert.equal(call.endReason, 'host-hangup');
    });

    it('a card reset is seen as a restart: link down, then up again with a new handshake', async () => {
      const down = new Promise<string>((resolve) => card.once('link-down', resolve));
      // Let some frames flow after the handshake, so the new hello cannot be taken for a duplicate.
      await card.command({ kind: 'off-hook', port: 1 });
      const up = linkUp(card);
      sim.card.resetCard();
      assert.match(await down, /restart/i);
      await up;
      assert.equal(sim.card.state, 'ready');
      assert.equal(sim.card.isOffHook(1), false, 'the reset put the port on-hook');
    });

    it('a dropped link is reconnected by the driver', async () => {
      const down = new Promise<string>((resolve) => card.once('link-down', resolve));
      const up = linkUp(card);
      sim.card.dropLink();
      await down;
      await up;
      await card.command({ kind: 'off-hook', port: 4 });
      assert.equal(sim.card.isOffHook(4), true);
    });

    it('a card that stops its keepalives (and all frames) is declared down, and comes back when it resumes', async () => {
      const down = new Promise<string>((resolve) => card.once('link-down', resolve));
      sim.card.setLinkPaused(true);
      await down;
      const up = linkUp(card);
      sim.card.setLinkPaused(false);
      await up;
    });
  });
}
