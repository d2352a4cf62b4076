/**
 * The simulator's dual-E1 model (e1-pri-2) against SerialCard + PriTrunk: two spans with their own D
 * channels, calls both ways on span 2 (TDM channels 31..60) with audio, span state (span-config
 * accepted, counters from the card's report, fault plan), and recovery after a card reset: both D
 * channels back, no channel left busy, new calls work.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { PstnCall as SimCall } from '../../../hw/sim/pstn-call';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import { PriTrunk } from '../../../controller/pstn/isdn/pri-trunk';
import type { SpanStateBody } from '../../../controller/pstn/isdn/span-state';
import type { PstnCall } from '../../../controller/pstn/types';
import { makeTempDir } from '../../lib/sim-env';

const LINK = { keepaliveMs: 300, keepaliveMissLimit: 3, reconnectMinMs: 50, reconnectMaxMs: 200 };

function within<T>(p: Promise<T>, what: string, ms = 10000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function until(pred: () => boolean, what: string, ms = 10000): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const check = (): void => (pred() ? resolve() : void setTimeout(check, 20));
      check();
    }),
    what,
    ms,
  );
}

describe('simulated e1-pri-2 card (two E1 spans) ↔ SerialCard + PriTrunk (integration)', function () {
  this.timeout(30000);
  let dir: ReturnType<typeof makeTempDir>;
  let sim: SimulatorHandle;
  let card: SerialCard;
  let trunk: PriTrunk;
  const rx = new Map<number, Buffer[]>();
  const states: SpanStateBody[] = [];

  async function start(faults: string[] = []): Promise<void> {
    rx.clear();
    states.length = 0;
    dir = makeTempDir('sim-e1-pri-2');
    sim = await runSimulator({
      listen: `unix:${join(dir.path, 'card.sock')}`,
      script: 'none',
      log: nullLogger,
      faults,
      card: { model: 'e1-pri-2', keepaliveMs: LINK.keepaliveMs, keepaliveMissLimit: LINK.keepaliveMissLimit, seed: 12, establishRetryMs: 200, callee: { answerAfterMs: 200, audio: [{ speech: 400 }], hangup: 'wait-for-host' } },
    });
    card = new SerialCard({ ...LINK, baudRate: 921600, transport: 'socket', socket: sim.address, log: nullLogger });
    trunk = new PriTrunk({ card, sendDchan: (span, data) => card.sendDchan(span, data), clock: systemClock, log: nullLogger, configureSpan: (cfg) => card.configureSpan(cfg) });
    card.linkEvents.on('dchan', (span, data) => trunk.receiveDchan(span, data));
    card.linkEvents.on('counters', (r) => trunk.receiveCounters(r));
    trunk.on('span-state', (_n, b) => states.push(b));
    card.on('pcm', (ch, data) => {
      const list = rx.get(ch) ?? [];
      list.push(Buffer.from(data));
      rx.set(ch, list);
    });
    trunk.start();
    await card.start();
    await until(() => trunk.spanStates().length === 2 && trunk.spanStates().every((s) => s.dchannelUp) && [1, 2].every((n) => sim.card.spans.get(n)?.dchannelUp), 'both D channels up');
  }

  afterEach(async () => {
    trunk.stop();
    await card.stop();
    await sim.stop();
    dir.cleanup();
  });

  it('two spans in the hello, both configured CRC-4/HDB3 and accepted; calls both ways on span 2 with audio on its channels', async () => {
    await start();
    assert.deepEqual(card.info?.spans.map((s) => [s.span, s.firstChannel, s.channels]), [
      [1, 1, 30],
      [2, 31, 30],
    ]);
    await until(() => trunk.spanStates().every((s) => s.configured === 'accepted'), 'span-config accepted');
    assert.deepEqual(trunk.spanStates().map((s) => [s.span, s.framing, s.lineCoding]), [
      [1, 'crc4', 'hdb3'],
      [2, 'crc4', 'hdb3'],
    ]);

    const incoming = within(new Promise<PstnCall>((resolve) => trunk.once('incoming', resolve)), 'incoming on span 2');
    const simCall: SimCall = sim.card.placeCall({ span: 2, callerNumber: '4930555', called: '8002', audio: [{ speech: 600 }], hangup: 'caller', seed: 3 });
    const call = await incoming;
    assert.equal(call.info.trunk, 'span/2');
    assert.ok(call.info.channel >= 31 && call.info.channel <= 60, `TDM channel ${call.info.channel} on span 2`);
    const gone = within(new Promise((resolve) => call.once('released', resolve)), 'caller hang-up');
    await call.answer();
    await gone;
    const got = Buffer.concat(rx.get(call.info.channel) ?? []);
    assert.ok(got.length >= 8 * 600 && got.equals(simCall.sent()), `host got ${got.length} bytes of the caller's ${simCall.sent().length}`);

    const out = trunk.placeCall({ calledNumber: '0301234', trunk: 'span/2' });
    await within(new Promise<void>((resolve) => out.once('answered', () => resolve())), 'outbound answered on span 2');
    assert.equal(out.info.trunk, 'span/2');
    assert.equal(trunk.spanStates()[1]?.channels.inUse, 1);
    await out.hangup(16, 'test');
    await until(() => trunk.spanStates().every((s) => s.channels.inUse === 0), 'channels idle');
  });

  it('fault plan crc:2 and a card reset: counters reach the span state; after the reset both D channels return and calls work, no channel stuck', async () => {
    await start(['crc:2@300ms']);
    await until(() => states.some((s) => s.span === 2 && s.counters.crcErrors === 100), 'span 2 counters with 100 CRC errors');
    assert.equal(trunk.spanStates()[0]?.counters.crcErrors, 0);

    const incoming = within(new Promise<PstnCall>((resolve) => trunk.once('incoming', resolve)), 'incoming before reset');
    sim.card.placeCall({ span: 2, callerNumber: '1', called: '2', hangup: 'wait-for-host' });
    const before = await incoming;
    const released = within(new Promise((resolve) => before.once('released', resolve)), 'call cleared by the reset');
    sim.card.resetCard();
    await released;
    await until(() => trunk.spanStates().every((s) => s.dchannelUp) && [1, 2].every((n) => sim.card.spans.get(n)?.dchannelUp), 'D channels back after reset', 15000);
    await until(() => trunk.spanStates().every((s) => s.channels.inUse === 0), 'no channel left busy');
    const out = trunk.placeCall({ calledNumber: '0301234', trunk: 'span/2' });
    await within(new Promise<void>((resolve) => out.once('answered', () => resolve())), 'outbound answered after reset');
    await out.hangup(16, 'test');
  });
});
