import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { parseCallScript } from '../../../hw/sim/call-script';
import { priModel, spanConfigProblem } from '../../../hw/sim/sim-pri-models';
import { SimPriSpan } from '../../../hw/sim/sim-pri-span';
import { PriSpan } from '../../../controller/pstn/isdn/pri-span';
import { tdmChannelOf } from '../../../controller/pstn/isdn/pri-trunk';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

describe('sim PRI card models (unit)', () => {
  it('maps e1-pri and t1-pri to spans, law and switch variant; anything else is the analog card', () => {
    const e1 = priModel('e1-pri');
    assert.deepEqual(e1?.spans, [{ span: 1, type: 'E1', firstChannel: 1, channels: 30 }]);
    assert.equal(e1?.law, 'alaw');
    assert.equal(e1?.variant.name, 'etsi');
    const t1 = priModel('t1-pri');
    assert.deepEqual(t1?.spans, [{ span: 1, type: 'T1', firstChannel: 1, channels: 23 }]);
    assert.equal(t1?.law, 'ulaw');
    assert.equal(t1?.variant.name, 'ni2');
    assert.equal(priModel('TW-FXO4-SIM'), undefined);
    assert.equal(priModel(undefined), undefined);
  });

  it('call scripts take a span and a called number; analog scripts stay valid, the port defaults to 1', () => {
    const pri = parseCallScript({ span: 1, called: '8001234', callerNumber: '4930123456' });
    assert.equal(pri.span, 1);
    assert.equal(pri.called, '8001234');
    assert.equal(pri.port, 1);
    const fxo = parseCallScript({ port: 3, callerNumber: '5551234567' });
    assert.equal(fxo.port, 3);
    assert.equal(fxo.span, undefined);
    assert.throws(() => parseCallScript({ span: 1, called: '80x', callerNumber: '1' }), /called: expected up to 20 digits/);
    assert.throws(() => parseCallScript({ span: 0, callerNumber: '1' }), /span/);
  });

  it('accepts only span-configs that fit the span type', () => {
    const e1 = { span: 1, type: 'E1' as const, firstChannel: 1, channels: 30 };
    const t1 = { span: 1, type: 'T1' as const, firstChannel: 1, channels: 23 };
    const cfg = { span: 1, lineCode: 'hdb3' as const, framing: 'crc4' as const, signaling: 'ccs' as const, clockSource: 'line' as const };
    assert.equal(spanConfigProblem(e1, cfg), '');
    assert.equal(spanConfigProblem(e1, { ...cfg, framing: 'no-crc4' }), '');
    assert.match(spanConfigProblem(e1, { ...cfg, framing: 'esf' }), /framing esf is not E1/);
    assert.match(spanConfigProblem(e1, { ...cfg, signaling: 'cas' }), /signaling cas/);
    assert.equal(spanConfigProblem(t1, { ...cfg, lineCode: 'b8zs', framing: 'esf' }), '');
    assert.match(spanConfigProblem(t1, cfg), /line code hdb3 is not T1/);
    assert.match(spanConfigProblem(undefined, { ...cfg, span: 2 }), /span 2 does not exist/);
  });
});

/** The simulated network span and a user-side PriSpan joined in memory, frames delivered by pump(). */
function pair(model: 'e1-pri' | 't1-pri'): { clock: ManualClock; net: SimPriSpan; user: PriSpan; pump: () => void; states: string[] } {
  const m = priModel(model);
  const span = m?.spans[0];
  if (!m || !span) throw new Error('model missing');
  const clock = new ManualClock();
  const toUser: Buffer[] = [];
  const toNet: Buffer[] = [];
  const states: string[] = [];
  const net = new SimPriSpan({ span, variant: m.variant, law: m.law, clock, log: nullLogger, sendFrame: (f) => toUser.push(f), seed: 3, loadWav: () => new Int16Array(0), onCallState: (_c, s) => states.push(s), callee: { answerAfterMs: 50, audio: [{ speech: 200 }], hangup: 'wait-for-host' } });
  const user = new PriSpan({ span: 1, side: 'user', variant: m.variant, clock, log: nullLogger, sendFrame: (f) => toNet.push(f), toTdmChannel: (b) => tdmChannelOf(span, b) });
  const pump = (): void => {
    for (let i = 0; i < 1000 && (toUser.length > 0 || toNet.length > 0); i++) {
      const u = toUser.shift();
      if (u) user.receiveFrame(u);
      const n = toNet.shift();
      if (n) net.receiveFrame(n);
    }
  };
  user.start();
  pump();
  net.start();
  pump();
  clock.advance(1000);
  pump();
  return { clock, net, user, pump, states };
}

for (const model of ['e1-pri', 't1-pri'] as const) {
  describe(`sim ${model} network span ↔ user PriSpan in memory (unit)`, () => {
    it('a scripted caller: SETUP with numbers, answer, caller audio on the channel, DISCONNECT cause 16', () => {
      const { net, user, pump, clock } = pair(model);
      assert.equal(user.dchannelUp, true);
      assert.equal(net.dchannelUp, true);
      let offered: PstnCall | undefined;
      user.on('incoming', (c) => (offered = c));
      const simCall = net.placeCall(parseCallScript({ span: 1, callerNumber: '5550100', called: '7000', audio: [{ speech: 100 }], hangup: 'caller' }));
      pump();
      assert.ok(simCall && offered);
      assert.equal(offered.info.callerNumber, '5550100');
      assert.equal(offered.info.calledNumber, '7000');
      assert.equal(offered.info.channel, net.channelOf(simCall));
      let rel: PstnRelease | undefined;
      offered.on('released', (r) => (rel = r));
      void offered.answer();
      pump();
      assert.equal(simCall.state, 'connected');
      const chunks = net.tick();
      assert.deepEqual(chunks.map((c) => c.channel), [offered.info.channel]);
      assert.equal(chunks[0]?.data.length, 80);
      for (let i = 0; i < 20 && simCall.state === 'connected'; i++) {
        net.tick();
        pump();
        clock.advance(10);
      }
      pump();
      assert.deepEqual(rel && { by: rel.by, q850: rel.q850 }, { by: 'pstn', q850: 16 });
      assert.equal(simCall.state, 'ended');
      assert.equal(simCall.endReason, 'caller-hangup');
    });

    it('a host SETUP on a chosen channel is answered by the callee on the mapped TDM channel', () => {
      const { net, user, pump, clock, states } = pair(model);
      const bChannel = model === 'e1-pri' ? 17 : 23;
      const call = user.placeCall({ called: '123', calling: '456', channel: bChannel, exclusive: true });
      pump();
      let answered = false;
      call.on('answered', () => (answered = true));
      for (let i = 0; i < 10; i++) {
        net.tick();
        pump();
        clock.advance(10);
      }
      assert.equal(answered, true);
      // E1: timeslot 17 is span channel 16 (timeslot 16 carries the D channel); T1: channel 23 is 23.
      assert.equal(call.info.channel, model === 'e1-pri' ? 16 : 23);
      const chunks = net.tick();
      assert.deepEqual(chunks.map((c) => c.channel), [call.info.channel]);
      void call.hangup(16, 'done');
      pump();
      assert.equal(states[states.length - 1], 'ended');
      assert.equal(net.tick().length, 0, 'no audio once the host hung up');
    });

    it('LOS releases the network data link and drops frames; recovery re-establishes it', () => {
      const { net, user, pump, clock } = pair(model);
      net.setLayer1(false);
      user.setLayer1(false);
      pump();
      assert.equal(net.dchannelUp, false);
      assert.equal(user.dchannelUp, false);
      assert.equal(net.placeCall(parseCallScript({ callerNumber: '1' })), undefined);
      net.setLayer1(true);
      user.setLayer1(true);
      pump();
      clock.advance(1000);
      pump();
      assert.equal(net.dchannelUp, true);
      assert.equal(user.dchannelUp, true);
    });
  });
}
