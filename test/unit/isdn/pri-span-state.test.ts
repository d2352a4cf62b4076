import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardEvents, CardInfo } from '../../../hw/card/types';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import { PriTrunk } from '../../../controller/pstn/isdn/pri-trunk';
import type { SpanStateBody } from '../../../controller/pstn/isdn/span-state';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import type { PstnCall } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

const INFO: CardInfo = { model: 'sim', firmwareVersion: '1', serial: 's', protocolVersion: 1, law: 'ulaw', ports: [], spans: [{ span: 1, type: 'T1', firstChannel: 1, channels: 23 }] };

class FakeCard extends TypedEmitter<CardEvents> {
  info: CardInfo | undefined;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup(configure?: () => Promise<void>) {
  const clock = new ManualClock();
  const card = new FakeCard();
  const queue: { to: 'net' | 'user'; frame: Buffer }[] = [];
  let cut = false;
  const configs: unknown[] = [];
  const trunk = new PriTrunk({
    card,
    clock,
    log: nullLogger,
    sendDchan: (_span, data) => (cut ? false : queue.push({ to: 'net', frame: Buffer.from(data) }) > 0),
    ...(configure
      ? {
          configureSpan: (cfg) => {
            configs.push(cfg);
            return configure();
          },
        }
      : {}),
  });
  const network = new PriSpan({ span: 1, side: 'network', variant: SWITCH_VARIANTS.ni2, clock, log: nullLogger, sendFrame: (f) => void (cut || queue.push({ to: 'user', frame: f })) });
  const flush = (): void => {
    for (let i = 0; queue.length > 0 && i < 10_000; i++) {
      const f = queue.shift();
      if (!f) break;
      if (f.to === 'net') network.receiveFrame(f.frame);
      else trunk.receiveDchan(1, f.frame);
    }
  };
  const run = (ms: number): void => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      flush();
    }
  };
  const states: SpanStateBody[] = [];
  trunk.on('span-state', (_n, b) => states.push(b));
  trunk.start();
  card.info = INFO;
  card.emit('link-up', INFO);
  network.start();
  flush();
  return { clock, card, trunk, network, flush, run, states, configs, setCut: (c: boolean) => void (cut = c) };
}

describe('PRI span state (framing, coding, alarms, counters, D channel, channels in use)', () => {
  it('T1 defaults to ESF/B8ZS, sends span-config at link-up and reports it accepted', async () => {
    const { trunk, configs } = setup(() => Promise.resolve());
    assert.deepEqual(configs, [{ span: 1, lineCode: 'b8zs', framing: 'esf', signaling: 'ccs', clockSource: 'line' }]);
    await settle();
    assert.deepEqual(trunk.spanStates(), [
      {
        span: 1,
        type: 'T1',
        framing: 'esf',
        lineCoding: 'b8zs',
        configured: 'accepted',
        alarms: [],
        layer1Up: true,
        dchannelUp: true,
        channels: { total: 23, inUse: 0, maintenance: 0 },
        counters: { slips: 0, crcErrors: 0, framingErrors: 0, lineCodeViolations: 0 },
      },
    ]);
  });

  it('a refused span-config is reported with the card\'s reason and a warning', async () => {
    const { trunk } = setup(() => Promise.reject(new Error('span 1: line code b8zs is not E1, expected hdb3')));
    const warnings: string[] = [];
    trunk.on('warning', (w) => warnings.push(w));
    await settle();
    assert.equal(trunk.spanStates()[0]?.configured, 'refused');
    assert.match(trunk.spanStates()[0]?.configError ?? '', /expected hdb3/);
    assert.match(warnings[0] ?? '', /span 1: span-config refused/);
  });

  it('alarms raised and cleared, counters from the card, channels in use: each change emits span-state once', async () => {
    const { trunk, card, network, flush, states } = setup();
    states.length = 0;
    card.emit('line', { kind: 'span-alarm', span: 1, alarms: ['RAI'] });
    card.emit('line', { kind: 'span-alarm', span: 1, alarms: ['RAI'] });
    assert.equal(states.length, 1, 'the same alarms twice: one event');
    assert.deepEqual([states[0]?.alarms, states[0]?.layer1Up, states[0]?.dchannelUp], [['RAI'], true, true]);
    trunk.receiveCounters({ spans: [{ span: 1, slips: 2, crcErrors: 17, framingErrors: 1, lineCodeViolations: 4 }, { span: 9, slips: 1, crcErrors: 1, framingErrors: 1, lineCodeViolations: 1 }] });
    assert.deepEqual(states.at(-1)?.counters, { slips: 2, crcErrors: 17, framingErrors: 1, lineCodeViolations: 4 });
    const calls: PstnCall[] = [];
    trunk.on('incoming', (c) => calls.push(c));
    network.placeCall({ called: '100', calling: '200' });
    flush();
    assert.equal(states.at(-1)?.channels.inUse, 1);
    void calls[0]?.hangup(16, 'test');
    flush();
    await settle();
    assert.equal(states.at(-1)?.channels.inUse, 0);
    card.emit('line', { kind: 'span-alarm', span: 1, alarms: ['LOS', 'AIS'] });
    assert.deepEqual([states.at(-1)?.alarms, states.at(-1)?.layer1Up, states.at(-1)?.dchannelUp], [['LOS', 'AIS'], false, false]);
    card.emit('line', { kind: 'span-alarm', span: 1, alarms: [] });
    assert.deepEqual(states.at(-1)?.alarms, []);
  });

  it('D-channel loss without an alarm (Q.921 §5.6 timeouts): the link goes down, calls and channels do not stick, and it recovers', () => {
    const { trunk, network, flush, run, setCut } = setup();
    const calls: PstnCall[] = [];
    trunk.on('incoming', (c) => calls.push(c));
    network.placeCall({ called: '100', calling: '200' });
    flush();
    const answered = calls[0];
    assert.ok(answered);
    void answered.answer();
    flush();
    assert.equal(answered.state, 'active');
    // A second call still ringing when the D channel goes.
    network.placeCall({ called: '101', calling: '201' });
    flush();
    const ringing = calls[1];
    const downs: boolean[] = [];
    trunk.on('dchannel', (_s, up) => downs.push(up));
    setCut(true);
    run(40_000);
    assert.deepEqual(downs.slice(0, 1), [false], 'LAPD noticed the loss');
    assert.equal(trunk.spanStates()[0]?.dchannelUp, false);
    assert.notEqual(ringing?.state, 'in-received', 'the ringing call was cleared, not left ringing');
    setCut(false);
    run(70_000);
    assert.equal(trunk.spanStates()[0]?.dchannelUp, true);
    // Whatever survived (the active call, kept by Q.931 §5.8.9 with T309) is cleared; every channel comes back idle.
    void answered.hangup(16, 'test');
    run(10_000);
    assert.equal(trunk.spanStates()[0]?.channels.inUse, 0);
    assert.equal(network.channelStates().filter((c) => c.state !== 'idle').length, 0);
    // And a new call works.
    network.placeCall({ called: '102', calling: '202' });
    flush();
    assert.equal(calls.length, 3);
    assert.equal(trunk.spanStates()[0]?.channels.inUse, 1);
  });
});
