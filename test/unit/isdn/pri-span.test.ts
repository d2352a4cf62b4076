import assert from 'node:assert/strict';
import { decodeLapdFrame } from '../../../controller/pstn/isdn/lapd-frame';
import { decodeQ931, encodeQ931, findIe, type Q931Message } from '../../../controller/pstn/isdn/q931-message';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { IsdnPair } from '../../lib/isdn-pair';

/** Q.931 messages in the recorded frames, with who sent them. */
function q931(pair: IsdnPair): { from: string; msg: Q931Message }[] {
  return pair.frames.flatMap(({ from, frame }) => {
    const f = decodeLapdFrame(frame);
    return f.control.format === 'I' ? [{ from, msg: decodeQ931(f.info) }] : [];
  });
}

function offered(pair: IsdnPair, side: 'user' | 'network'): PstnCall[] {
  const calls: PstnCall[] = [];
  pair[side].on('incoming', (c) => calls.push(c));
  return calls;
}

describe('PRI span: our user side against our network side', () => {
  it('D channel comes up on both sides', () => {
    const p = new IsdnPair();
    const ups: string[] = [];
    p.user.on('dchannel', (up) => ups.push(`user ${up}`));
    p.network.on('dchannel', (up) => ups.push(`network ${up}`));
    p.up();
    assert.ok(p.user.dchannelUp && p.network.dchannelUp);
    assert.deepEqual(ups.sort(), ['network true', 'user true']);
  });

  it('network → user call: SETUP, CALL PROCEEDING, ALERTING, CONNECT, CONNECT ACK; user hangs up; channels idle', async () => {
    const p = new IsdnPair();
    p.up();
    const atUser = offered(p, 'user');
    const out = p.network.placeCall({ called: '5551234', calling: '5559876', callingName: 'Alice' });
    p.flush();
    const call = atUser[0];
    assert.ok(call);
    assert.deepEqual({ ...call.info }, { trunk: 'span/1', port: 1, channel: out.info.channel, callerNumber: '5559876', callerName: 'Alice', calledNumber: '5551234' });
    const answered = call.answer();
    p.flush();
    await answered;
    assert.equal(call.state, 'active');
    assert.equal(out.state, 'active');
    const rel: PstnRelease[] = [];
    out.on('released', (r) => rel.push(r));
    const hung = call.hangup(16, 'normal');
    p.flush();
    await hung;
    assert.deepEqual(rel, [{ by: 'pstn', q850: 16, reason: 'normal call clearing (Q.850 16)' }]);
    assert.deepEqual(
      q931(p).map((m) => `${m.from[0]}:${m.msg.type}`),
      ['n:SETUP', 'u:CALL PROCEEDING', 'u:ALERTING', 'u:CONNECT', 'n:CONNECT ACKNOWLEDGE', 'u:DISCONNECT', 'n:RELEASE', 'u:RELEASE COMPLETE'],
    );
    assert.ok([...p.user.channelStates(), ...p.network.channelStates()].every((c) => c.state === 'idle'));
    assert.equal(p.clock.pending, 2, 'only the two T203 timers remain');
  });

  it('ETSI bearer capability carries A-law; NI-2 carries µ-law and the user restarts all channels on link up', () => {
    const e = new IsdnPair('etsi');
    e.up();
    e.network.placeCall({ called: '1', calling: '2' });
    e.flush();
    const etsiSetup = q931(e).find((m) => m.msg.type === 'SETUP');
    assert.equal(etsiSetup && findIe(etsiSetup.msg, 'bearer-capability')?.layer1, 3);
    const n = new IsdnPair('ni2');
    const acked: unknown[] = [];
    n.user.on('restart-acknowledged', (c) => acked.push(c));
    n.up();
    assert.deepEqual(acked, ['all']);
    n.network.placeCall({ called: '1', calling: '2' });
    n.flush();
    const niSetup = q931(n).find((m) => m.msg.type === 'SETUP');
    assert.equal(niSetup && findIe(niSetup.msg, 'bearer-capability')?.layer1, 2);
    assert.equal(niSetup && findIe(niSetup.msg, 'display'), undefined, 'NI-2 sends no display IE');
  });

  it('user → network call on a preferred channel; the network answers and clears with cause 16', async () => {
    const p = new IsdnPair();
    p.up();
    const atNet = offered(p, 'network');
    const out = p.user.placeCall({ called: '4401', calling: '2000', channel: 5 });
    p.flush();
    const call = atNet[0];
    assert.ok(call);
    assert.equal(call.info.channel, 5);
    const answered: string[] = [];
    out.on('answered', () => answered.push('answered'));
    const a = call.answer();
    p.flush();
    await a;
    assert.deepEqual(answered, ['answered']);
    const rel: PstnRelease[] = [];
    out.on('released', (r) => rel.push(r));
    void call.hangup(16, 'normal');
    p.flush();
    assert.deepEqual(rel.map((r) => [r.by, r.q850]), [['pstn', 16]]);
  });

  it('§5.2.3: an exclusive SETUP for a busy channel is refused with cause 44; a preferred one moves to a free channel', () => {
    const p = new IsdnPair();
    p.up();
    const atUser = offered(p, 'user');
    p.network.placeCall({ called: '1', calling: '2', channel: 1 });
    p.flush();
    const rel: PstnRelease[] = [];
    // The user side's channel 1 is now busy; send a second SETUP for it from a network that thinks it is free.
    const sneaky = new IsdnPair();
    void sneaky;
    const setup = q931(p).find((m) => m.msg.type === 'SETUP');
    assert.ok(setup);
    const again: Q931Message = { ...setup.msg, callRef: { length: 2, flag: false, value: 99 } };
    p.network.lapd.send(encodeQ931(again));
    p.flush();
    const refusal = q931(p).find((m) => m.msg.callRef.value === 99 && m.from === 'user');
    assert.equal(refusal?.msg.type, 'RELEASE COMPLETE');
    assert.equal(refusal && findIe(refusal.msg, 'cause')?.value, 44);
    const preferred: Q931Message = { ...again, callRef: { length: 2, flag: false, value: 100 }, ies: again.ies.map((ie) => (ie.id === 'channel-id' ? { ...ie, exclusive: false } : ie)) };
    p.network.lapd.send(encodeQ931(preferred));
    p.flush();
    assert.equal(atUser.length, 2);
    assert.notEqual(atUser[1]?.info.channel, 1);
    assert.deepEqual(rel, []);
  });

  it('§5.8.3.2: a message for an unknown call reference gets RELEASE COMPLETE cause 81', () => {
    const p = new IsdnPair();
    p.up();
    p.network.lapd.send(encodeQ931({ callRef: { length: 2, flag: false, value: 42 }, type: 'DISCONNECT', ies: [] }));
    p.flush();
    const reply = q931(p).find((m) => m.from === 'user');
    assert.equal(reply?.msg.type, 'RELEASE COMPLETE');
    assert.equal(reply && findIe(reply.msg, 'cause')?.value, 81);
    assert.equal(p.user.counters.unknownCallRef, 1);
  });

  it('§5.5: RESTART of the interface clears every call on it and is acknowledged', () => {
    const p = new IsdnPair();
    p.up();
    const atUser = offered(p, 'user');
    p.network.placeCall({ called: '1', calling: '2' });
    p.network.placeCall({ called: '3', calling: '4' });
    p.flush();
    const rel: PstnRelease[] = [];
    for (const c of atUser) c.on('released', (r) => rel.push(r));
    const acked: unknown[] = [];
    p.network.on('restart-acknowledged', (c) => acked.push(c));
    p.network.restart('all');
    p.flush();
    assert.equal(rel.length, 2);
    assert.deepEqual(acked, ['all']);
    assert.ok(p.user.channelStates().every((c) => c.state === 'idle'));
  });

  it('D channel loss: calls being set up are cleared, active calls survive T309, nothing stays stuck', () => {
    const p = new IsdnPair();
    p.up();
    const atUser = offered(p, 'user');
    const active = p.network.placeCall({ called: '1', calling: '2' });
    p.flush();
    const a = atUser[0];
    assert.ok(a);
    void a.answer();
    p.flush();
    const ringing = p.network.placeCall({ called: '3', calling: '4' });
    p.flush();
    const rel: string[] = [];
    ringing.on('released', (r) => rel.push(`ringing ${r.q850}`));
    active.on('released', (r) => rel.push(`active ${r.q850}`));
    p.drop = () => true;
    p.run(20_000);
    assert.equal(p.user.dchannelUp, false);
    assert.deepEqual(rel, ['ringing 41']);
    assert.equal(active.state, 'active');
    p.drop = () => false;
    p.run(5_000);
    assert.ok(p.user.dchannelUp && p.network.dchannelUp, 'link re-established');
    assert.equal(active.state, 'active', 'STATUS ENQUIRY after recovery keeps the call');
    p.drop = () => true;
    p.run(120_000);
    assert.deepEqual(rel, ['ringing 41', 'active 27'], rel.join(', '));
    p.drop = () => false;
    p.run(5_000);
    assert.ok([...p.user.channelStates(), ...p.network.channelStates()].every((c) => c.state === 'idle'));
  });

  it('§5.3.4.3: a channel whose release is never confirmed goes to maintenance and returns after RESTART ACKNOWLEDGE', () => {
    const p = new IsdnPair();
    p.up();
    const atUser = offered(p, 'user');
    const out = p.network.placeCall({ called: '1', calling: '2', channel: 7 });
    p.flush();
    assert.ok(atUser[0]);
    // Lose every RELEASE COMPLETE from the network: the user's T308 runs out twice.
    p.drop = (f) => {
      const fr = decodeLapdFrame(f.frame);
      return f.from === 'network' && fr.control.format === 'I' && decodeQ931(fr.info).type === 'RELEASE COMPLETE';
    };
    void out.hangup(16, 'normal');
    const acked: unknown[] = [];
    p.user.on('restart-acknowledged', (c) => acked.push(c));
    p.run(8_100);
    assert.deepEqual(acked, [[7]]);
    const restarts = q931(p).filter((m) => m.from === 'user' && m.msg.type === 'RESTART');
    assert.equal(restarts.length, 1);
    assert.deepEqual(restarts[0] && findIe(restarts[0].msg, 'channel-id')?.channels, [7]);
    p.drop = () => false;
    p.run(200);
    assert.equal(p.user.channelStates().find((c) => c.channel === 7)?.state, 'idle');
  });

  it('glare: both sides ask for channel 1 at once; the network\'s exclusive call wins and ours moves to another channel', async () => {
    const p = new IsdnPair();
    p.up();
    const atUser = offered(p, 'user');
    const atNet = offered(p, 'network');
    const ours = p.user.placeCall({ called: '4401', calling: '2000', channel: 1 });
    const theirs = p.network.placeCall({ called: '5551234', calling: '5559876', channel: 1 });
    p.flush();
    assert.equal(atUser[0]?.info.channel, 1, 'the network\'s call keeps channel 1');
    assert.ok(atNet[0]);
    assert.notEqual(ours.info.channel, 1, 'our call was moved');
    assert.equal(atNet[0].info.channel, ours.info.channel);
    const answers = [atUser[0]?.answer(), atNet[0].answer()];
    p.flush();
    await Promise.all(answers);
    assert.equal(ours.state, 'active');
    assert.equal(theirs.state, 'active');
    assert.deepEqual(
      p.user.channelStates().filter((c) => c.state === 'busy').map((c) => c.channel),
      [1, ours.info.channel].sort((a, b) => a - b),
    );
  });
});
