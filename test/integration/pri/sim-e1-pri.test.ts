/**
 * The simulator's e1-pri card (network side) against the appliance's user side: the real card driver
 * (SerialCard over a unix socket) carrying D-channel frames to a PriTrunk, calls both ways with audio
 * checked byte for byte on the call's TDM channel, clearing with cause 16, LOS and recovery.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { systemClock } from '../../../hw/base/clock';
import { nullLogger } from '../../../hw/base/logger';
import { SerialCard } from '../../../hw/card/serial-card';
import type { CardInfo } from '../../../hw/card/types';
import type { PstnCall as SimCall } from '../../../hw/sim/pstn-call';
import { runSimulator, type SimulatorHandle } from '../../../hw/sim/run-simulator';
import { PriTrunk } from '../../../controller/pstn/isdn/pri-trunk';
import { parseCallScript } from '../../../hw/sim/call-script';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { makeTempDir } from '../../lib/sim-env';

const LINK = { keepaliveMs: 300, keepaliveMissLimit: 3, reconnectMinMs: 50, reconnectMaxMs: 200 };

function within<T>(p: Promise<T>, what: string, ms = 8000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function dchannel(trunk: PriTrunk, up: boolean): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const f = (span: number, u: boolean): void => {
        if (span !== 1 || u !== up) return;
        trunk.off('dchannel', f);
        resolve();
      };
      trunk.on('dchannel', f);
    }),
    `D channel ${up ? 'up' : 'down'}`,
  );
}

/** Both ends of a data link must be established before calls: the network side reports its own. */
function networkUp(sim: SimulatorHandle): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      if (sim.card.spans.get(1)?.dchannelUp) return resolve();
      const f = (span: number, up: boolean): void => {
        if (span !== 1 || !up) return;
        sim.card.off('dchannel', f);
        resolve();
      };
      sim.card.on('dchannel', f);
    }),
    'network D channel up',
  );
}

function released(call: PstnCall): Promise<PstnRelease> {
  return within(new Promise<PstnRelease>((resolve) => call.once('released', resolve)), 'release');
}

/** A recognisable host → network pattern: `chunks` chunks of 80 bytes. */
function pattern(chunks: number): Buffer[] {
  return Array.from({ length: chunks }, (_, i) => Buffer.from(Array.from({ length: 80 }, (_, j) => (i * 7 + j * 3 + 0x21) & 0xff)));
}

describe('simulated e1-pri card (network side) ↔ SerialCard + PriTrunk (user side) (integration)', function () {
  this.timeout(30000);
  let dir: ReturnType<typeof makeTempDir>;
  let sim: SimulatorHandle;
  let card: SerialCard;
  let trunk: PriTrunk;
  let info: CardInfo;
  const rx = new Map<number, Buffer[]>();

  beforeEach(async () => {
    rx.clear();
    dir = makeTempDir('sim-e1-pri');
    sim = await runSimulator({
      listen: `unix:${join(dir.path, 'card.sock')}`,
      script: 'none',
      log: nullLogger,
      card: { model: 'e1-pri', keepaliveMs: LINK.keepaliveMs, keepaliveMissLimit: LINK.keepaliveMissLimit, seed: 5, establishRetryMs: 200, callee: { answerAfterMs: 300, audio: [{ speech: 400 }], hangup: 'wait-for-host' }, callees: { '5550000': { busy: true, answerAfterMs: 0, audio: [], hangup: 'wait-for-host' } } },
    });
    card = new SerialCard({ ...LINK, baudRate: 921600, transport: 'socket', socket: sim.address, log: nullLogger });
    trunk = new PriTrunk({ card, sendDchan: (span, data) => card.sendDchan(span, data), clock: systemClock, log: nullLogger });
    card.linkEvents.on('dchan', (span, data) => trunk.receiveDchan(span, data));
    card.on('pcm', (ch, data) => {
      const list = rx.get(ch) ?? [];
      list.push(Buffer.from(data));
      rx.set(ch, list);
    });
    trunk.start();
    const up = dchannel(trunk, true);
    const netUp = networkUp(sim);
    const linkUp = within(new Promise<CardInfo>((resolve) => card.once('link-up', resolve)), 'link-up');
    await card.start();
    info = await linkUp;
    await up;
    await netUp;
  });

  afterEach(async () => {
    trunk.stop();
    await card.stop();
    await sim.stop();
    dir.cleanup();
  });

  it('says hello as one E1 span of 30 A-law channels and accepts an E1 span-config only', async () => {
    assert.deepEqual(info.spans, [{ span: 1, type: 'E1', firstChannel: 1, channels: 30 }]);
    assert.deepEqual(info.ports, []);
    assert.equal(info.law, 'alaw');
    await card.configureSpan({ span: 1, lineCode: 'hdb3', framing: 'crc4', signaling: 'ccs', clockSource: 'line' });
    await assert.rejects(card.configureSpan({ span: 1, lineCode: 'b8zs', framing: 'esf', signaling: 'ccs', clockSource: 'line' }), /b8zs/);
  });

  it('an inbound call: SETUP with the numbers, answer, audio both ways on its channel, caller hang-up with cause 16', async () => {
    const incoming = within(new Promise<PstnCall>((resolve) => trunk.once('incoming', resolve)), 'incoming call');
    const simCall: SimCall = sim.card.placeCall({ span: 1, callerNumber: '4930123456', called: '8001234', callerName: 'SIM CALLER', audio: [{ speech: 1500 }], hangup: 'caller', seed: 9 });
    const call = await incoming;
    assert.equal(call.info.callerNumber, '4930123456');
    assert.equal(call.info.calledNumber, '8001234');
    assert.equal(call.info.trunk, 'span/1');
    const channel = sim.card.channelOf(simCall);
    assert.equal(call.info.channel, channel);

    const gone = released(call);
    await call.answer();
    const sent = pattern(20);
    for (const c of sent) card.writePcm(call.info.channel, c);
    const rel = await gone;
    assert.equal(rel.by, 'pstn');
    assert.equal(rel.q850, 16);
    await within(new Promise<void>((resolve) => (simCall.state === 'ended' ? resolve() : sim.card.once('call-ended', () => resolve()))), 'sim call ended');
    assert.equal(simCall.endReason, 'caller-hangup');

    // Network → host: every byte the caller sent, only on the call's channel, and it is not silence.
    assert.deepEqual([...rx.keys()], [call.info.channel]);
    const got = Buffer.concat(rx.get(call.info.channel) ?? []);
    assert.ok(simCall.sent().length >= 8 * 1000, `caller sent ${simCall.sent().length} bytes, expected ≥ 1 s`);
    assert.ok(got.equals(simCall.sent()), `host received ${got.length} bytes, caller sent ${simCall.sent().length}`);
    assert.ok(new Set(got).size > 20, 'the caller audio is speech, not a constant');
    // Host → network: the pattern, in order, byte for byte.
    assert.ok(simCall.heard().equals(Buffer.concat(sent)), `far end heard ${simCall.heard().length} bytes, host sent 1600`);
  });

  it('an outbound call: the scripted callee answers, audio reaches the host, host hang-up releases both sides', async () => {
    const started = within(new Promise<SimCall>((resolve) => sim.card.once('call-started', resolve)), 'sim call-started');
    const call = trunk.placeCall({ calledNumber: '0301234567', callingNumber: '8001234' });
    const answered = within(new Promise<void>((resolve) => call.once('answered', () => resolve())), 'answered');
    const simCall = await started;
    assert.equal(simCall.direction, 'outbound');
    await answered;
    assert.equal(sim.card.channelOf(simCall), call.info.channel);
    assert.equal(simCall.state, 'connected');
    const ended = within(new Promise<void>((resolve) => sim.card.once('call-ended', () => resolve())), 'sim call ended');
    await call.hangup(16, 'test');
    await ended;
    assert.equal(simCall.endReason, 'host-hangup');
    const got = Buffer.concat(rx.get(call.info.channel) ?? []);
    assert.ok(got.length > 0, 'ringback/callee audio reached the host on the call channel');
    assert.deepEqual([...rx.keys()], [call.info.channel]);
  });

  it('an outbound call to a busy callee: progress, then cleared by the network with 17 (user busy)', async () => {
    const call = trunk.placeCall({ calledNumber: '5550000', callingNumber: '8001234' });
    const progress: string[] = [];
    call.on('progress', (k) => progress.push(k));
    const rel = await released(call);
    assert.deepEqual([rel.by, rel.q850], ['pstn', 17]);
    assert.deepEqual(progress, ['proceeding', 'alerting', 'progress']);
    assert.equal(trunk.available(), true);
  });

  it('LOS: span-alarm takes the D channel down; clearing it brings the D channel back and calls work again', async () => {
    const down = dchannel(trunk, false);
    sim.card.setSpanAlarms(1, ['LOS']);
    await down;
    assert.equal(sim.card.spans.get(1)?.dchannelUp, false);
    assert.throws(() => sim.card.placeCall({ span: 1, callerNumber: '1' }), /span 1 cannot take a call/);
    const up = dchannel(trunk, true);
    const netUp = networkUp(sim);
    sim.card.setSpanAlarms(1, []);
    await up;
    await netUp;
    const incoming = within(new Promise<PstnCall>((resolve) => trunk.once('incoming', resolve)), 'incoming after recovery');
    sim.card.placeCall({ span: 1, callerNumber: '77', called: '88', hangup: 'wait-for-host' });
    const call = await incoming;
    assert.equal(call.info.callerNumber, '77');
    await call.hangup(16, 'test');
  });
});

describe('simulated e1-pri card: a call script file runs once the D channel is up (integration)', function () {
  this.timeout(30000);

  it('the scheduler holds a scripted PRI call until the network D channel is up, then offers it', async () => {
    const dir = makeTempDir('sim-e1-pri-script');
    const sim = await runSimulator({
      listen: `unix:${join(dir.path, 'card.sock')}`,
      script: [parseCallScript({ span: 1, called: '4711', callerNumber: '0815', audio: [{ speech: 200 }], hangup: 'wait-for-host', atMs: 0 })],
      log: nullLogger,
      card: { model: 'e1-pri', keepaliveMs: LINK.keepaliveMs, keepaliveMissLimit: LINK.keepaliveMissLimit, establishRetryMs: 200 },
    });
    const card = new SerialCard({ ...LINK, baudRate: 921600, transport: 'socket', socket: sim.address, log: nullLogger });
    const trunk = new PriTrunk({ card, sendDchan: (span, data) => card.sendDchan(span, data), clock: systemClock, log: nullLogger });
    card.linkEvents.on('dchan', (span, data) => trunk.receiveDchan(span, data));
    try {
      assert.equal(sim.card.calls.length, 0, 'no call before a host brought the D channel up');
      const incoming = within(new Promise<PstnCall>((resolve) => trunk.once('incoming', resolve)), 'scripted incoming call', 15000);
      trunk.start();
      await card.start();
      const call = await incoming;
      assert.equal(call.info.calledNumber, '4711');
      assert.equal(call.info.callerNumber, '0815');
      await call.hangup(16, 'test');
    } finally {
      trunk.stop();
      await card.stop();
      await sim.stop();
      dir.cleanup();
    }
  });
});
