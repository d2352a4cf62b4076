import assert from 'node:assert/strict';
import type { HookCommand } from '../../../hw/card/types';
import { FxoLine } from '../../../controller/pstn/analog/fxo-line';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

function setup() {
  const clock = new ManualClock();
  const sent: HookCommand[] = [];
  const offers: PstnCall[] = [];
  const line = new FxoLine({
    port: 2,
    channel: 2,
    lineNumber: '100',
    ringTimeoutMs: 8000,
    clock,
    sendCommand: (cmd) => {
      sent.push(cmd);
      return Promise.resolve();
    },
    onOffer: (call) => offers.push(call),
  });
  return { clock, sent, offers, line };
}

describe('analog FXO loop-start line', () => {
  it('offers the call with caller ID delivered between the first and second ring', () => {
    const { line, offers } = setup();
    line.handle({ kind: 'ring-on', port: 2 });
    line.handle({ kind: 'ring-off', port: 2 });
    assert.equal(offers.length, 0, 'not offered before caller ID');
    line.handle({ kind: 'caller-id', port: 2, number: '5551234567', name: 'ALICE' });
    assert.equal(offers.length, 1);
    assert.deepEqual(offers[0]?.info, { trunk: 'port/2', port: 2, channel: 2, callerNumber: '5551234567', callerName: 'ALICE', calledNumber: '100' });
    line.handle({ kind: 'ring-on', port: 2 });
    assert.equal(offers.length, 1, 'a later ring does not offer twice');
  });

  it('offers at the second ring when the exchange sends no caller ID', () => {
    const { line, offers } = setup();
    line.handle({ kind: 'ring-on', port: 2 });
    assert.equal(offers.length, 0);
    line.handle({ kind: 'ring-on', port: 2 });
    assert.equal(offers.length, 1);
    assert.equal(offers[0]?.info.callerNumber, '');
  });

  it('answers with off-hook and reports answered once the card confirms the hook state', async () => {
    const { line, offers, sent } = setup();
    line.handle({ kind: 'ring-on', port: 2 });
    line.handle({ kind: 'ring-on', port: 2 });
    const call = offers[0];
    assert.ok(call);
    let answered = 0;
    call.on('answered', () => answered++);
    await call.answer();
    assert.deepEqual(sent, [{ kind: 'off-hook', port: 2 }]);
    assert.equal(line.state, 'answering');
    line.handle({ kind: 'hook-state', port: 2, offHook: true });
    assert.equal(line.state, 'connected');
    assert.equal(answered, 1);
  });

  for (const [name, event] of [
    ['loop-current drop', { kind: 'loop-current', port: 2, present: false }],
    ['battery reversal', { kind: 'battery-reversal', port: 2 }],
  ] as const) {
    it(`releases with Q.850 cause 16 when the far end disconnects by ${name}`, async () => {
      const { line, offers, sent } = setup();
      line.handle({ kind: 'ring-on', port: 2 });
      line.handle({ kind: 'ring-on', port: 2 });
      const call = offers[0];
      assert.ok(call);
      await call.answer();
      line.handle({ kind: 'hook-state', port: 2, offHook: true });
      const released = new Promise<PstnRelease>((resolve) => call.once('released', resolve));
      line.handle(event);
      const r = await released;
      assert.equal(r.by, 'pstn');
      assert.equal(r.q850, 16);
      assert.deepEqual(sent.at(-1), { kind: 'on-hook', port: 2 });
      assert.equal(line.state, 'idle');
    });
  }

  it('treats the end of ringing as the caller giving up, with no hook command', async () => {
    const { line, offers, sent, clock } = setup();
    line.handle({ kind: 'ring-on', port: 2 });
    line.handle({ kind: 'ring-on', port: 2 });
    const call = offers[0];
    assert.ok(call);
    const released = new Promise<PstnRelease>((resolve) => call.once('released', resolve));
    clock.advance(7999);
    assert.equal(line.state, 'offered');
    clock.advance(1);
    const r = await released;
    assert.equal(r.reason, 'caller hung up while ringing');
    assert.deepEqual(sent, []);
    assert.equal(line.state, 'idle');
    assert.equal(clock.pending, 0, 'no timer left armed');
  });

  it('refuses to answer a call that is no longer offered, naming port and state', async () => {
    const { line, offers, clock } = setup();
    line.handle({ kind: 'ring-on', port: 2 });
    line.handle({ kind: 'ring-on', port: 2 });
    const call = offers[0];
    assert.ok(call);
    clock.advance(9000);
    await assert.rejects(call.answer(), /cannot answer port 2 in state idle/);
  });

  it('releases a connected call with cause 41 when the card link goes down', async () => {
    const { line, offers } = setup();
    line.handle({ kind: 'ring-on', port: 2 });
    line.handle({ kind: 'ring-on', port: 2 });
    const call = offers[0];
    assert.ok(call);
    await call.answer();
    line.handle({ kind: 'hook-state', port: 2, offHook: true });
    const released = new Promise<PstnRelease>((resolve) => call.once('released', resolve));
    line.linkDown();
    assert.equal((await released).q850, 41);
  });

  it('ignores hang-up and answer line events in states where they mean nothing', () => {
    const { line } = setup();
    line.handle({ kind: 'loop-current', port: 2, present: false });
    line.handle({ kind: 'hook-state', port: 2, offHook: true });
    assert.equal(line.state, 'idle');
  });
});
