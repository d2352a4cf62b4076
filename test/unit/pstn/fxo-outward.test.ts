import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardEvents, CardInfo, HookCommand } from '../../../hw/card/types';
import { addTones, type ToneComponent } from '../../../controller/dsp/tone-generator';
import { DialToneDetector } from '../../../controller/pstn/analog/dial-tone-detector';
import { FxoLine, type AnswerSupervision } from '../../../controller/pstn/analog/fxo-line';
import { FxoTrunk } from '../../../controller/pstn/analog/fxo-trunk';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

const DIAL_US: ToneComponent[] = [{ hz: 350, levelDbm0: -13 }, { hz: 440, levelDbm0: -13 }];
const BUSY_US: ToneComponent[] = [{ hz: 480, levelDbm0: -24 }, { hz: 620, levelDbm0: -24 }];

/** `ms` of audio: `tone` during the on part of an on/off cadence (offMs 0: continuous). */
function cadence(tone: ToneComponent[], ms: number, onMs = ms, offMs = 0, start = 0): Int16Array {
  const out = new Int16Array(ms * 8);
  for (let i = 0; i < out.length; i += 80) {
    const t = (start + i) / 8;
    if (offMs === 0 || t % (onMs + offMs) < onMs) addTones(out, i, Math.min(80, out.length - i), tone, start + i);
  }
  return out;
}

function feed(line: FxoLine, samples: Int16Array): void {
  for (let i = 0; i < samples.length; i += 80) line.audio(samples.subarray(i, i + 80));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup(answerSupervision: AnswerSupervision = 'none', hearsAudio = true) {
  const clock = new ManualClock();
  const sent: HookCommand[] = [];
  const line = new FxoLine({
    port: 3,
    channel: 3,
    lineNumber: '2125550100',
    ringTimeoutMs: 8000,
    clock,
    sendCommand: (cmd) => {
      sent.push(cmd);
      return Promise.resolve();
    },
    onOffer: () => assert.fail('no inbound offer expected'),
    answerSupervision,
    hearsAudio,
  });
  return { clock, sent, line };
}

function watch(call: PstnCall) {
  const log: string[] = [];
  const releases: PstnRelease[] = [];
  call.on('progress', (kind, inband) => log.push(`progress:${kind}:${inband}`));
  call.on('answered', () => log.push('answered'));
  call.on('released', (r) => {
    log.push('released');
    releases.push(r);
  });
  return { log, releases };
}

describe('dial-tone detector (ETSI ES 201 970 §5 seizure, Telcordia GR-506 / ETSI TR 101 041 tones)', () => {
  it('recognises US 350 + 440 Hz, European 425 Hz and UK 350 + 450 Hz dial tone after 300 ms', () => {
    for (const tone of [DIAL_US, [{ hz: 425, levelDbm0: -10 }], [{ hz: 350, levelDbm0: -13 }, { hz: 450, levelDbm0: -13 }]]) {
      const d = new DialToneDetector();
      assert.equal(d.process(cadence(tone, 200)), false, 'not after 200 ms');
      assert.equal(d.process(cadence(tone, 200, 200, 0, 1600)), true, `${tone.map((t) => t.hz).join('+')} Hz not recognised`);
    }
  });

  it('does not take silence, quiet tone (< -30 dBm0), busy tone or a 1 kHz tone for dial tone', () => {
    const cases: [string, Int16Array][] = [
      ['silence', new Int16Array(8000)],
      ['-40 dBm0 dial tone', cadence([{ hz: 350, levelDbm0: -43 }, { hz: 440, levelDbm0: -43 }], 1000)],
      ['busy', cadence(BUSY_US, 2000, 500, 500)],
      ['1 kHz', cadence([{ hz: 1000, levelDbm0: -10 }], 1000)],
    ];
    for (const [what, samples] of cases) assert.equal(new DialToneDetector().process(samples), false, what);
  });

  it('needs the tone continuous: 200 ms bursts with gaps never add up', () => {
    assert.equal(new DialToneDetector().process(cadence(DIAL_US, 3000, 200, 100)), false);
  });
});

describe('analog FXO outward call (loop start seizure, dial tone, DTMF dialling, answer supervision)', () => {
  it('seizes, waits for dial tone, dials the number, and without an answer signal counts as answered once dialled', async () => {
    const { line, sent } = setup('none');
    const call = line.dial({ calledNumber: '5551234', callingNumber: '2125550100' });
    const w = watch(call);
    assert.equal(line.state, 'seizing');
    assert.deepEqual(call.info, { trunk: 'port/3', port: 3, channel: 3, callerNumber: '2125550100', callerName: '', calledNumber: '5551234' });
    await settle();
    assert.deepEqual(sent, [{ kind: 'off-hook', port: 3 }], 'no digits before dial tone');
    feed(line, cadence(DIAL_US, 400));
    await settle();
    assert.deepEqual(sent[1], { kind: 'dial', port: 3, digits: '5551234' });
    assert.equal(line.state, 'connected');
    assert.deepEqual(w.log, ['progress:progress:true', 'answered']);
    await call.hangup(16, 'done');
    assert.deepEqual(sent[2], { kind: 'on-hook', port: 3 });
    assert.equal(line.state, 'idle');
    assert.deepEqual(w.releases, [{ by: 'local', q850: 16, reason: 'done' }]);
  });

  it('no dial tone within 3 s: on-hook and released with 34 (no circuit/channel available)', async () => {
    const { line, sent, clock } = setup();
    const call = line.dial({ calledNumber: '5551234' });
    const w = watch(call);
    feed(line, new Int16Array(8000));
    clock.advance(3000);
    await settle();
    assert.deepEqual(sent.map((c) => c.kind), ['off-hook', 'on-hook']);
    assert.equal(w.releases[0]?.q850, 34);
    assert.match(w.releases[0]?.reason ?? '', /no dial tone/);
    assert.equal(line.state, 'idle');
  });

  it('a line that cannot hear (no decoder) dials blind after 2 s', async () => {
    const { line, sent, clock } = setup('none', false);
    line.dial({ calledNumber: '911' });
    await settle();
    clock.advance(1999);
    assert.equal(sent.length, 1);
    clock.advance(1);
    await settle();
    assert.deepEqual(sent[1], { kind: 'dial', port: 3, digits: '911' });
  });

  it('battery reversal supervision: ringback until the reversal (answer), a second reversal is the far end hanging up (16)', async () => {
    const { line, sent } = setup('battery-reversal');
    const call = line.dial({ calledNumber: '5551234' });
    const w = watch(call);
    feed(line, cadence(DIAL_US, 400));
    await settle();
    assert.equal(line.state, 'outgoing');
    assert.deepEqual(w.log, ['progress:progress:true']);
    line.handle({ kind: 'battery-reversal', port: 3 });
    assert.equal(line.state, 'connected');
    assert.deepEqual(w.log, ['progress:progress:true', 'answered']);
    line.handle({ kind: 'battery-reversal', port: 3 });
    await settle();
    assert.deepEqual(w.releases, [{ by: 'pstn', q850: 16, reason: 'battery reversal' }]);
    assert.equal(sent.at(-1)?.kind, 'on-hook');
  });

  it('busy tone after dialling releases with 17 (user busy), reorder with 34, even when counted as answered', async () => {
    for (const [tone, onMs, offMs, q850] of [
      [BUSY_US, 500, 500, 17],
      [[{ hz: 480, levelDbm0: -24 }, { hz: 620, levelDbm0: -24 }], 250, 250, 34],
    ] as const) {
      const { line } = setup('none');
      const call = line.dial({ calledNumber: '5551234' });
      const w = watch(call);
      feed(line, cadence(DIAL_US, 400));
      await settle();
      feed(line, cadence([...tone], 5000, onMs, offMs));
      await settle();
      assert.equal(w.releases[0]?.q850, q850, `${onMs}/${offMs} cadence`);
      assert.equal(w.releases[0]?.by, 'pstn');
    }
  });

  it('no answer within the no-answer time under reversal supervision: released with 19', async () => {
    const { line, clock } = setup('battery-reversal');
    const call = line.dial({ calledNumber: '5551234' });
    const w = watch(call);
    feed(line, cadence(DIAL_US, 400));
    await settle();
    clock.advance(60_000);
    await settle();
    assert.equal(w.releases[0]?.q850, 19);
  });

  it('an inbound ring on a seized line is ignored (glare: our seizure wins the loop)', () => {
    const { line } = setup();
    line.dial({ calledNumber: '1' });
    line.handle({ kind: 'ring-on', port: 3 });
    assert.equal(line.state, 'seizing');
    assert.throws(() => line.dial({ calledNumber: '2' }), /port 3 is seizing, not idle/);
  });
});

const INFO: CardInfo = {
  model: 'fxo4',
  firmwareVersion: '1',
  serial: 's',
  protocolVersion: 1,
  law: 'ulaw',
  ports: [1, 2].map((port) => ({ port, kind: 'fxo' as const, channel: port })),
  spans: [],
};

class FakeCard extends TypedEmitter<CardEvents> {
  info: CardInfo | undefined = INFO;
  readonly state = 'up' as const;
  readonly counters = {} as never;
  readonly sent: HookCommand[] = [];
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  command(cmd: HookCommand): Promise<void> {
    this.sent.push(cmd);
    return Promise.resolve();
  }
  writePcm(): void {}
}

describe('analog FXO trunk as a PstnDialer', () => {
  function trunkOf() {
    const card = new FakeCard();
    const trunk = new FxoTrunk({ card, clock: new ManualClock(), log: nullLogger, lineNumbers: {}, defaultLineNumber: '100', ringTimeoutMs: 8000, blindDialDelayMs: 10 });
    trunk.start();
    return { card, trunk };
  }

  it('takes the lowest idle port, then the next; a named busy port or no idle port gives a call released with 34', async () => {
    const { trunk } = trunkOf();
    assert.equal(trunk.available(), true);
    const a = trunk.placeCall({ calledNumber: '1' });
    const b = trunk.placeCall({ calledNumber: '2' });
    assert.deepEqual([a.info.trunk, b.info.trunk], ['port/1', 'port/2']);
    assert.equal(trunk.available(), false);
    const none = watch(trunk.placeCall({ calledNumber: '3' }));
    const named = watch(trunk.placeCall({ calledNumber: '4', trunk: 'port/1' }));
    const missing = watch(trunk.placeCall({ calledNumber: '4', trunk: 'port/9' }));
    await settle();
    assert.deepEqual([none, named, missing].map((w) => w.releases[0]?.q850), [34, 34, 34]);
    assert.match(named.releases[0]?.reason ?? '', /port 1 is seizing/);
    assert.match(missing.releases[0]?.reason ?? '', /port 9 is not an FXO port/);
  });

  it('throws for a malformed request only: bad called number, a trunk that is not port/N', () => {
    const { trunk } = trunkOf();
    assert.throws(() => trunk.placeCall({ calledNumber: '55x1' }), /called number of 4 characters is not 1\.\.32 of 0-9 \* #/);
    assert.throws(() => trunk.placeCall({ calledNumber: '' }), /EPSTN_REQUEST|called number/);
    assert.throws(() => trunk.placeCall({ calledNumber: '1', trunk: 'span/1' }), /not an analog port/);
    assert.throws(() => trunk.placeCall({ calledNumber: '1', trunk: 'port/x' }), /is not one of span\/N, port\/N, cas\/N/);
  });
});
