/**
 * Outward calls on the simulated fxo4 card through the real driver (SerialCard over a unix socket)
 * and the FxoTrunk: seizure, the sim's dial tone heard by our dial-tone detector, the number dialled
 * by the card's dial command and received by the simulated exchange, answer by battery reversal,
 * the callee's audio on the port's channel, busy tone heard and released with 17.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { PstnCall as SimCall } from '../../../hw/sim/pstn-call';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import { decode } from '../../../controller/media/g711';
import { FxoTrunk } from '../../../controller/pstn/analog/fxo-trunk';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { makeTempDir } from '../../lib/sim-env';

const LINK = { baudRate: 921600, keepaliveMs: 300, keepaliveMissLimit: 3, reconnectMinMs: 50, reconnectMaxMs: 200 };

function within<T>(p: Promise<T>, what: string, ms = 10000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

describe('FXO outward calls through the simulated fxo4 card (integration)', function () {
  this.timeout(30000);
  let dir: ReturnType<typeof makeTempDir>;
  let sim: SimulatorHandle;
  let card: SerialCard;
  let trunk: FxoTrunk;
  const rx = new Map<number, Buffer[]>();

  beforeEach(async () => {
    rx.clear();
    dir = makeTempDir('fxo-outward');
    sim = await runSimulator({
      listen: `unix:${join(dir.path, 'card.sock')}`,
      script: 'none',
      log: nullLogger,
      card: {
        keepaliveMs: LINK.keepaliveMs,
        keepaliveMissLimit: LINK.keepaliveMissLimit,
        seed: 3,
        supervision: 'battery-reversal',
        callee: { answerAfterMs: 400, audio: [{ speech: 600 }], hangup: 'wait-for-host' },
        callees: { '5550000': { busy: true, answerAfterMs: 0, audio: [], hangup: 'wait-for-host' } },
      },
    });
    card = new SerialCard({ ...LINK, transport: 'socket', socket: sim.address, log: nullLogger });
    trunk = new FxoTrunk({
      card,
      clock: systemClock,
      log: nullLogger,
      lineNumbers: {},
      defaultLineNumber: '2125550100',
      ringTimeoutMs: 8000,
      decodePcm: (law, data) => decode(law, data),
      defaultAnswerSupervision: 'battery-reversal',
    });
    card.on('pcm', (ch, data) => {
      const list = rx.get(ch) ?? [];
      list.push(Buffer.from(data));
      rx.set(ch, list);
    });
    trunk.start();
    const up = within(new Promise((resolve) => card.once('link-up', resolve)), 'link-up');
    await card.start();
    await up;
  });

  afterEach(async () => {
    trunk.stop();
    await card.stop();
    await sim.stop();
    dir.cleanup();
  });

  it('seizes port 1, hears dial tone, dials; the exchange gets the digits, answers with a battery reversal, audio flows; host hang-up ends it', async () => {
    const started = within(new Promise<SimCall>((resolve) => sim.card.once('call-started', resolve)), 'sim call-started');
    const call: PstnCall = trunk.placeCall({ calledNumber: '5551234' });
    const progress: string[] = [];
    call.on('progress', (k, inband) => progress.push(`${k}:${inband}`));
    const answered = within(new Promise<void>((resolve) => call.once('answered', () => resolve())), 'answered');
    assert.equal(call.info.trunk, 'port/1');
    const simCall = await started;
    assert.equal(simCall.direction, 'outbound');
    assert.equal(simCall.dialled, '5551234');
    assert.equal(simCall.port, 1);
    await answered;
    assert.deepEqual(progress, ['progress:true']);
    assert.equal(call.state, 'connected');
    assert.equal(simCall.state, 'connected');
    // Dial tone came before the digits; after the answer the callee's own audio reaches the host.
    await new Promise((r) => setTimeout(r, 300));
    const got = Buffer.concat(rx.get(1) ?? []);
    const sent = simCall.sent();
    assert.ok(sent.length >= 800, `callee sent ${sent.length} bytes`);
    assert.ok(got.includes(sent.subarray(0, 800)), 'the first 100 ms of the callee audio arrived on channel 1');
    const ended = within(new Promise<void>((resolve) => sim.card.once('call-ended', () => resolve())), 'sim call ended');
    await call.hangup(16, 'test');
    await ended;
    assert.equal(simCall.endReason, 'host-hangup');
    assert.equal(trunk.available(), true);
  });

  it('a busy callee: busy tone on the line, released with 17 (user busy) and the port back on-hook', async () => {
    const call = trunk.placeCall({ calledNumber: '5550000', trunk: 'port/2' });
    const rel = await within(new Promise<PstnRelease>((resolve) => call.once('released', resolve)), 'release on busy', 15000);
    assert.equal(rel.q850, 17);
    assert.equal(rel.by, 'pstn');
    assert.match(rel.reason, /busy tone/);
    await within(
      new Promise<void>((resolve) => {
        const check = (): void => (sim.card.calls.every((c) => c.state === 'ended') ? resolve() : void setTimeout(check, 20));
        check();
      }),
      'sim call ended',
    );
    assert.equal(sim.card.calls.at(-1)?.dialled, '5550000');
    assert.equal(trunk.portStates().find((p) => p.port === 2)?.state, 'idle');
  });
});
