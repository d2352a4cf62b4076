import assert from 'node:assert/strict';
import { EmChannel, OFF_HOOK, ON_HOOK, type EmStart } from '../../../controller/pstn/cas/em-channel';
import type { PstnCall, PstnRelease } from '../../../controller/pstn/types';
import { ManualClock } from '../../lib/manual-clock';

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup(start: EmStart) {
  const clock = new ManualClock();
  const bits: [number, number][] = [];
  const addresses: string[] = [];
  const offers: PstnCall[] = [];
  const ch = new EmChannel({
    span: 1,
    channel: 5,
    tdmChannel: 5,
    start,
    clock,
    sendBits: (abcd) => bits.push([clock.now() - START, abcd]),
    sendAddress: (d) => {
      addresses.push(d);
      return Promise.resolve();
    },
    onOffer: (c) => offers.push(c),
  });
  const START = clock.now();
  return { clock, bits, addresses, offers, ch, at: () => clock.now() - START };
}

function watch(call: PstnCall) {
  const log: string[] = [];
  const releases: PstnRelease[] = [];
  call.on('progress', (k, inband) => log.push(`progress:${k}:${inband}`));
  call.on('answered', () => log.push('answered'));
  call.on('released', (r) => releases.push(r));
  return { log, releases };
}

describe('T1 robbed-bit E&M channel (Telcordia GR-506 wink start and immediate start)', () => {
  it('outward, wink start: seize, wink of 200 ms from the far end, address ≥ 70 ms after it, far end off-hook answers', async () => {
    const { ch, bits, addresses, clock } = setup('wink');
    const call = ch.dial({ calledNumber: '5551234' });
    const w = watch(call);
    assert.deepEqual(bits, [[0, OFF_HOOK]]);
    assert.equal(ch.state, 'awaiting-wink');
    clock.advance(300);
    ch.receiveBits(OFF_HOOK);
    clock.advance(200);
    ch.receiveBits(ON_HOOK);
    assert.deepEqual(addresses, [], 'no digits during the 70 ms after the wink');
    clock.advance(70);
    await settle();
    assert.deepEqual(addresses, ['5551234']);
    assert.equal(ch.state, 'awaiting-answer');
    ch.receiveBits(OFF_HOOK);
    assert.equal(ch.state, 'connected');
    assert.deepEqual(w.log, ['progress:progress:true', 'answered']);
    // Far end hangs up: released 16, we go on-hook, idle.
    ch.receiveBits(ON_HOOK);
    assert.deepEqual(w.releases, [{ by: 'pstn', q850: 16, reason: 'far end went on-hook' }]);
    assert.equal(bits.at(-1)?.[1], ON_HOOK);
    assert.equal(ch.state, 'idle');
  });

  it('outward, wink start: no wink within 5 s → released 41 and back on-hook; a wink too long (400 ms) → 41', () => {
    const a = setup('wink');
    const wa = watch(a.ch.dial({ calledNumber: '1' }));
    a.clock.advance(5000);
    assert.equal(wa.releases[0]?.q850, 41);
    assert.match(wa.releases[0]?.reason ?? '', /no wink/);
    assert.equal(a.bits.at(-1)?.[1], ON_HOOK);
    const b = setup('wink');
    const wb = watch(b.ch.dial({ calledNumber: '1' }));
    b.ch.receiveBits(OFF_HOOK);
    b.clock.advance(400);
    b.ch.receiveBits(ON_HOOK);
    assert.match(wb.releases[0]?.reason ?? '', /wink of 400 ms outside 100\.\.350 ms/);
  });

  it('inward, wink start: far end seizes, we wink 200 ms, collect DTMF to #, offer; answer goes off-hook', async () => {
    const { ch, bits, offers, clock, at } = setup('wink');
    ch.receiveBits(OFF_HOOK);
    assert.equal(ch.state, 'winking');
    assert.deepEqual(bits, [[0, OFF_HOOK]]);
    clock.advance(200);
    assert.deepEqual(bits, [[0, OFF_HOOK], [200, ON_HOOK]]);
    assert.equal(ch.state, 'collecting');
    for (const d of '8005550100#') ch.digit(d);
    assert.equal(offers.length, 1);
    assert.deepEqual(offers[0]?.info, { trunk: 'cas/1', port: 5, channel: 5, callerNumber: '', callerName: '', calledNumber: '8005550100' });
    const call = offers[0];
    assert.ok(call);
    const w = watch(call);
    await call.answer();
    assert.deepEqual(bits.at(-1), [at(), OFF_HOOK]);
    assert.deepEqual(w.log, ['answered']);
    // We hang up: on-hook, and idle once the far end follows.
    await call.hangup(16, 'done');
    assert.equal(ch.state, 'releasing');
    ch.receiveBits(ON_HOOK);
    assert.equal(ch.state, 'idle');
    assert.deepEqual(w.releases, [{ by: 'local', q850: 16, reason: 'done' }]);
  });

  it('inward, immediate start: no wink, digits right away; the address completes 4 s after the last digit', () => {
    const { ch, bits, offers, clock } = setup('immediate');
    ch.receiveBits(OFF_HOOK);
    assert.equal(ch.state, 'collecting');
    assert.deepEqual(bits, [], 'no wink');
    ch.digit('4');
    ch.digit('2');
    clock.advance(3999);
    assert.equal(offers.length, 0);
    clock.advance(1);
    assert.equal(offers[0]?.info.calledNumber, '42');
    // The caller gives up before the answer: released 16.
    const w = watch(offers[0]);
    ch.receiveBits(ON_HOOK);
    assert.equal(w.releases[0]?.by, 'pstn');
    assert.equal(ch.state, 'idle');
  });

  it('outward, immediate start: address after the 150 ms guard; a busy channel refuses a second dial', async () => {
    const { ch, addresses, clock } = setup('immediate');
    ch.dial({ calledNumber: '911' });
    clock.advance(149);
    await settle();
    assert.deepEqual(addresses, []);
    clock.advance(1);
    await settle();
    assert.deepEqual(addresses, ['911']);
    assert.throws(() => ch.dial({ calledNumber: '1' }), /CAS channel 1\/5 is awaiting-answer, not idle/);
  });
});
