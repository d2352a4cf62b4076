import assert from 'node:assert/strict';
import { makeInboundCall, runTicks } from '../../lib/sim-calls';
import { PstnCall } from '../../../hw/sim/pstn-call';
import { SeededRandom } from '../../../hw/sim/seeded-random';
import { ULAW_TO_LINEAR } from '../../../controller/media/g711';
import { goertzel } from '../../lib/sim-signal';

const S_PER_MS = 8;

describe('sim PSTN call: inbound loop-start line', () => {
  it('rings with the US cadence (2 s on / 4 s off), timed in samples', () => {
    const call = makeInboundCall({ ringCadence: 'us', answerTimeoutRings: 3 });
    const rings = runTicks(call, 1800).filter((e) => e.event.kind === 'ring-on' || e.event.kind === 'ring-off');
    assert.deepEqual(
      rings.map((r) => [r.event.kind, r.sample]),
      [
        ['ring-on', 0],
        ['ring-off', 2000 * S_PER_MS],
        ['ring-on', 6000 * S_PER_MS],
        ['ring-off', 8000 * S_PER_MS],
        ['ring-on', 12000 * S_PER_MS],
        ['ring-off', 14000 * S_PER_MS],
      ],
    );
    // The call's own timeline records the same positions.
    assert.deepEqual(
      call.timeline.filter((t) => t.event.kind.startsWith('ring')).map((t) => t.sample),
      rings.map((r) => r.sample),
    );
  });

  it('rings with a custom cadence (UK double ring) and gives up after answerTimeoutRings rings', () => {
    const call = makeInboundCall({ ringCadence: 'uk', answerTimeoutRings: 2 });
    const events = runTicks(call, 1000);
    const ringOns = events.filter((e) => e.event.kind === 'ring-on').map((e) => e.sample / S_PER_MS);
    assert.deepEqual(ringOns, [0, 600, 3000, 3600]);
    assert.equal(call.state, 'ended');
    assert.equal(call.endReason, 'no-answer');
    assert.equal(call.endedAtSample, 6000 * S_PER_MS);
  });

  it('delivers caller ID after the first ring ends and before the second ring (GR-30)', () => {
    const call = makeInboundCall({ callerNumber: '5550001111', callerName: 'BOB' });
    const events = runTicks(call, 700);
    const cid = events.find((e) => e.event.kind === 'caller-id');
    assert.ok(cid, 'no caller-id event');
    assert.deepEqual(cid.event, { kind: 'caller-id', port: 2, number: '5550001111', name: 'BOB' });
    assert.ok(cid.sample > 2000 * S_PER_MS && cid.sample < 6000 * S_PER_MS, `caller id at sample ${cid.sample}`);
    assert.equal(events.filter((e) => e.event.kind === 'caller-id').length, 1);
  });

  it('sends no caller-id event when the caller withholds number and name', () => {
    const call = makeInboundCall({ callerNumber: '', callerName: '' });
    assert.equal(runTicks(call, 700).filter((e) => e.event.kind === 'caller-id').length, 0);
  });

  it('is answered by the host going off-hook: ring trips (ring-off) then loop current flows, then audio', () => {
    const call = makeInboundCall({ audio: [{ speech: 500 }] });
    runTicks(call, 50); // mid first ring
    const events = call.hostOffHook();
    assert.deepEqual(events, [
      { kind: 'ring-off', port: 2 },
      { kind: 'loop-current', port: 2, present: true },
    ]);
    assert.equal(call.state, 'connected');
    assert.equal(call.answeredAtSample, 50 * 80);
    const r = call.tick();
    assert.equal(r.pcm?.length, 80);
    assert.equal(runTicks(call, 200).filter((e) => e.event.kind.startsWith('ring')).length, 0, 'no ringing after answer');
  });

  for (const [supervision, expected] of [
    ['loop-current-drop', [{ kind: 'loop-current', port: 2, present: false }]],
    ['battery-reversal', [{ kind: 'battery-reversal', port: 2 }]],
    ['both', [{ kind: 'loop-current', port: 2, present: false }, { kind: 'battery-reversal', port: 2 }]],
  ] as const) {
    it(`hangs up after its audio with ${supervision} and stops sending audio`, () => {
      const call = makeInboundCall({ audio: [{ silence: 300 }], hangup: 'caller' }, supervision);
      call.hostOffHook();
      let audioTicks = 0;
      const events = [];
      for (let i = 0; i < 100; i++) {
        const r = call.tick();
        if (r.pcm) audioTicks++;
        events.push(...r.events);
      }
      assert.equal(audioTicks, 30, '300 ms of audio = 30 ticks, then none');
      assert.deepEqual(events, expected);
      assert.equal(call.state, 'caller-gone');
      call.hostOnHook();
      assert.equal(call.state, 'ended');
      assert.equal(call.endReason, 'caller-hangup');
    });
  }

  it('hangs up hangupAfterMs after the answer, cutting its audio short', () => {
    const call = makeInboundCall({ audio: [{ speech: 5000 }], hangupAfterMs: 1000 });
    call.hostOffHook();
    let audioTicks = 0;
    for (let i = 0; i < 300; i++) if (call.tick().pcm) audioTicks++;
    assert.equal(audioTicks, 100);
    assert.equal(call.state, 'caller-gone');
  });

  it("with hangup 'wait-for-host' stays on the line sending silence until the host hangs up", () => {
    const call = makeInboundCall({ audio: [{ speech: 200 }], hangup: 'wait-for-host' });
    call.hostOffHook();
    const events = runTicks(call, 500);
    assert.equal(events.length, 0);
    assert.equal(call.state, 'connected');
    const last = call.tick().pcm;
    assert.ok(last && last.every((b) => b === 0xff), 'µ-law silence after the audio');
    call.hostOnHook();
    assert.equal(call.state, 'ended');
    assert.equal(call.endReason, 'host-hangup');
  });

  it('records what the caller heard from the host, byte for byte, only while connected', () => {
    const call = makeInboundCall({ hangup: 'wait-for-host' });
    call.hostPcm(Uint8Array.of(1, 2, 3)); // before the answer: not heard
    call.hostOffHook();
    call.hostPcm(Uint8Array.of(10, 11));
    call.hostPcm(Uint8Array.of(12));
    call.hostOnHook();
    call.hostPcm(Uint8Array.of(99));
    assert.deepEqual([...call.heard()], [10, 11, 12]);
  });

  it('records what it sent: the sent bytes equal the ticks’ PCM', () => {
    const call = makeInboundCall({ audio: [{ speech: 300 }] });
    call.hostOffHook();
    const out: number[] = [];
    for (let i = 0; i < 30; i++) out.push(...(call.tick().pcm ?? []));
    assert.deepEqual([...call.sent()], out);
  });

  it('refuses an illegal transition with both states in the message', () => {
    const call = makeInboundCall();
    call.hostOffHook();
    call.hostOnHook();
    assert.throws(() => (call as unknown as { transition(s: string): void }).transition('connected'), /ended → connected/);
  });
});

describe('sim PSTN call: outward call to a scripted callee', () => {
  it('plays ringback (440 + 480 Hz) then answers and sends the callee audio until the host hangs up', () => {
    const call = new PstnCall({
      id: 9,
      port: 1,
      direction: 'outbound',
      callee: { answerAfterMs: 1000, audio: [{ speech: 500 }], hangup: 'wait-for-host' },
      supervision: 'loop-current-drop',
      law: 'ulaw',
      rng: new SeededRandom(1),
      loadWav: () => new Int16Array(0),
    });
    assert.equal(call.state, 'ringback');
    const ring = new Int16Array(800);
    for (let t = 0; t < 10; t++) {
      const pcm = call.tick().pcm;
      assert.ok(pcm);
      pcm.forEach((b, i) => (ring[t * 80 + i] = ULAW_TO_LINEAR[b] ?? 0));
    }
    assert.ok(goertzel(ring, 440) > 50 * goertzel(ring, 1000));
    assert.ok(goertzel(ring, 480) > 50 * goertzel(ring, 1000));
    for (let t = 0; t < 91; t++) call.tick(); // the tick starting at sample 8000 answers
    assert.equal(call.state, 'connected');
    assert.equal(call.answeredAtSample, 8000);
    call.hostOnHook();
    assert.equal(call.endReason, 'host-hangup');
  });
});
