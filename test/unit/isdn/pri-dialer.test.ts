import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { TypedEmitter } from '../../../hw/base/typed-emitter';
import type { CardEvents, CardInfo } from '../../../hw/card/types';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import type { PriCall } from '../../../controller/pstn/isdn/pri-call';
import { PriTrunk } from '../../../controller/pstn/isdn/pri-trunk';
import { SWITCH_VARIANTS } from '../../../controller/pstn/isdn/switch-variant';
import { TrunkDialer } from '../../../controller/pstn/dialer';
import type { PstnCall, PstnDialer, PstnRelease } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

const INFO: CardInfo = {
  model: 'sim-e1-2',
  firmwareVersion: '1',
  serial: 's',
  protocolVersion: 1,
  law: 'alaw',
  ports: [],
  spans: [
    { span: 1, type: 'E1', firstChannel: 1, channels: 30 },
    { span: 2, type: 'E1', firstChannel: 31, channels: 30 },
  ],
};

class FakeCard extends TypedEmitter<CardEvents> {
  info: CardInfo | undefined;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A user-side PriTrunk with two E1 spans, each against our network side, frames queued and flushed. */
function setup() {
  const clock = new ManualClock();
  const card = new FakeCard();
  const queue: { to: 'net' | 'user'; span: number; frame: Buffer }[] = [];
  const trunk = new PriTrunk({ card, clock, log: nullLogger, sendDchan: (span, data) => queue.push({ to: 'net', span, frame: Buffer.from(data) }) > 0 });
  const networks = new Map<number, PriSpan>();
  const offered: PriCall[] = [];
  for (const span of [1, 2]) {
    const n = new PriSpan({ span, side: 'network', variant: SWITCH_VARIANTS.etsi, clock, log: nullLogger, sendFrame: (f) => queue.push({ to: 'user', span, frame: f }) });
    n.on('incoming', (c) => offered.push(c as PriCall));
    networks.set(span, n);
  }
  const flush = (): void => {
    for (let i = 0; queue.length > 0 && i < 10_000; i++) {
      const f = queue.shift();
      if (!f) break;
      if (f.to === 'net') networks.get(f.span)?.receiveFrame(f.frame);
      else trunk.receiveDchan(f.span, f.frame);
    }
  };
  trunk.start();
  card.info = INFO;
  card.emit('link-up', INFO);
  return { clock, trunk, networks, offered, flush };
}

function watch(call: PstnCall) {
  const log: string[] = [];
  const releases: PstnRelease[] = [];
  call.on('progress', (kind, inband) => log.push(`${kind}:${inband}`));
  call.on('answered', () => log.push('answered'));
  call.on('released', (r) => releases.push(r));
  return { log, releases };
}

describe('PRI trunk as a PstnDialer (Q.931 §5.1 outgoing call, user side)', () => {
  it('no D channel up: a call released with 41 (temporary failure), not an exception', async () => {
    const { trunk } = setup();
    assert.equal(trunk.available(), false);
    const w = watch(trunk.placeCall({ calledNumber: '0301234567' }));
    await settle();
    assert.equal(w.releases[0]?.q850, 41);
    assert.match(w.releases[0]?.reason ?? '', /no D channel up \(spans: 1, 2\)/);
  });

  it('SETUP on the first span with the numbers; CALL PROCEEDING, ALERTING with in-band ringback (progress #8), CONNECT map to progress/answered', () => {
    const { trunk, networks, offered, flush } = setup();
    for (const n of networks.values()) n.start();
    flush();
    assert.equal(trunk.available(), true);
    const call = trunk.placeCall({ calledNumber: '0301234567', callingNumber: '8001234', callingName: 'BRANCH' });
    const w = watch(call);
    flush();
    const far = offered[0];
    assert.ok(far);
    assert.equal(far.info.trunk, 'span/1');
    assert.equal(far.info.calledNumber, '0301234567');
    assert.equal(far.info.callerNumber, '8001234');
    assert.equal(far.info.callerName, 'BRANCH');
    assert.equal(call.info.channel, far.info.channel, 'both sides agree on the B channel');
    // The network side sends CALL PROCEEDING + ALERTING on offer (alertOnOffer); ALERTING carries #8.
    assert.deepEqual(w.log, ['proceeding:false', 'alerting:false', 'progress:true']);
    void far.answer();
    flush();
    assert.deepEqual(w.log, ['proceeding:false', 'alerting:false', 'progress:true', 'answered']);
    assert.equal(call.state, 'active');
  });

  it('span/2 names the span; a cleared call reports the network cause (17 user busy)', () => {
    const { trunk, networks, offered, flush } = setup();
    for (const n of networks.values()) n.start();
    flush();
    const call = trunk.placeCall({ calledNumber: '5551234', trunk: 'span/2' });
    const w = watch(call);
    flush();
    assert.equal(offered[0]?.info.trunk, 'span/2');
    assert.equal(call.info.trunk, 'span/2');
    assert.ok(call.info.channel >= 31, `channel ${call.info.channel} is on span 2 (TDM 31..60)`);
    void offered[0]?.hangup(17, 'busy');
    flush();
    assert.deepEqual(w.releases.map((r) => [r.by, r.q850]), [['pstn', 17]]);
    assert.match(w.releases[0]?.reason ?? '', /user busy/);
  });

  it('fills span 1 (30 channels), then takes span 2; both full: released with 34', async () => {
    const { trunk, networks, flush } = setup();
    for (const n of networks.values()) n.start();
    flush();
    const spans: string[] = [];
    for (let i = 0; i < 60; i++) {
      spans.push(trunk.placeCall({ calledNumber: String(1000 + i) }).info.trunk);
      flush();
    }
    assert.equal(spans.filter((s) => s === 'span/1').length, 30);
    assert.equal(spans.filter((s) => s === 'span/2').length, 30);
    assert.equal(trunk.available(), false);
    const w = watch(trunk.placeCall({ calledNumber: '1' }));
    await settle();
    assert.equal(w.releases[0]?.q850, 34);
  });

  it('rejects a malformed request: trunk port/1 on the PRI trunk, letters in the number', () => {
    const { trunk } = setup();
    assert.throws(() => trunk.placeCall({ calledNumber: '1', trunk: 'port/1' }), /not a PRI span/);
    assert.throws(() => trunk.placeCall({ calledNumber: 'abc' }), /called number/);
  });
});

describe('trunks aggregate dialer (controller/pstn/dialer.ts)', () => {
  function fake(name: string, free: boolean) {
    const placed: string[] = [];
    const dialer: PstnDialer = {
      placeCall: (r) => {
        placed.push(r.calledNumber);
        return { info: { trunk: name } } as PstnCall;
      },
    };
    return { placed, dialer, available: () => free };
  }

  it('routes span/N to the PRI, port/N to the FXO trunk; without a trunk the first one with a free channel', async () => {
    const pri = fake('span/1', false);
    const fxo = fake('port/1', true);
    const d = new TrunkDialer([
      { kind: 'span', dialer: pri.dialer, available: pri.available },
      { kind: 'port', dialer: fxo.dialer, available: fxo.available },
    ]);
    d.placeCall({ calledNumber: '1', trunk: 'span/1' });
    d.placeCall({ calledNumber: '2', trunk: 'port/3' });
    d.placeCall({ calledNumber: '3' });
    assert.deepEqual(pri.placed, ['1']);
    assert.deepEqual(fxo.placed, ['2', '3']);
    assert.throws(() => d.placeCall({ calledNumber: '4', trunk: 'cas/1' }), /runs no cas trunk \(it runs: span, port\)/);
    const none = new TrunkDialer([{ kind: 'span', dialer: pri.dialer, available: pri.available }]).placeCall({ calledNumber: '5' });
    const releases: number[] = [];
    none.on('released', (r) => releases.push(r.q850));
    await settle();
    assert.deepEqual(releases, [34]);
  });
});
