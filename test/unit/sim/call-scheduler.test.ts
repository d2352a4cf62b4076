import assert from 'node:assert/strict';
import { createLogger, memorySink, nullLogger } from '../../../hw/base/logger';
import { CallScheduler } from '../../../hw/sim/call-scheduler';
import { parseCallScript } from '../../../hw/sim/call-script';
import type { PstnCall } from '../../../hw/sim/pstn-call';
import { SimCard } from '../../../hw/sim/sim-card';
import { ManualClock } from '../../lib/manual-clock';
import { duplexPair, flush, TestHost } from '../../lib/sim-host';

describe('sim call scheduler (manual clock)', () => {
  it('demo: a call every intervalMs on the next idle port, each with talk, keys and a caller hang-up', () => {
    const clock = new ManualClock();
    const card = new SimCard({ log: nullLogger, clock, seed: 2 });
    const started: PstnCall[] = [];
    card.on('call-started', (c) => started.push(c));
    card.start();
    const sched = new CallScheduler(card, clock, nullLogger);
    sched.runDemo({ ports: [1, 2, 3, 4], intervalMs: 5000, callDurationMs: 2000, callerNumber: '5551234567', callerName: 'DEMO' });
    clock.advance(1999);
    assert.equal(started.length, 0);
    clock.advance(1);
    assert.equal(started.length, 1);
    clock.advance(15000);
    assert.deepEqual(
      started.map((c) => c.port),
      [1, 2, 3, 4],
    );
    // Nobody answers: every port is ringing, so the next demo call is skipped, not queued.
    clock.advance(5000);
    assert.equal(started.length, 4);
    assert.equal(sched.skipped, 1);
    sched.stop();
    card.stop();
  });

  it('scripts start at their atMs, and a call for a busy port waits until it is idle', () => {
    const clock = new ManualClock();
    const card = new SimCard({ log: nullLogger, clock });
    const started: { port: number; at: number }[] = [];
    card.on('call-started', (c) => started.push({ port: c.port, at: clock.now() }));
    card.start();
    const t0 = clock.now();
    const sched = new CallScheduler(card, clock, nullLogger);
    sched.runScripts([
      parseCallScript({ port: 1, callerNumber: '1', atMs: 1000, ringCadence: [100, 100], answerTimeoutRings: 2 }),
      parseCallScript({ port: 1, callerNumber: '2', atMs: 1100 }),
      parseCallScript({ port: 3, callerNumber: '3', atMs: 0 }),
    ]);
    clock.advance(3000);
    assert.deepEqual(
      started.map((s) => [s.port, s.at - t0]),
      [
        [3, 0],
        [1, 1000],
        [1, 1600],
      ],
    );
    sched.stop();
    card.stop();
  });
});

describe('sim logs: keypress digits are test card data', () => {
  it('a call with keys logs counts only: no digit run, nothing dropped by the card guard', async () => {
    const sink = memorySink();
    const log = createLogger({ level: 'trace', sinks: [sink] });
    const clock = new ManualClock();
    const card = new SimCard({ log, clock });
    const pair = duplexPair();
    const host = new TestHost(pair.host);
    card.start();
    card.attach(pair.card);
    host.hello();
    await flush();
    card.placeCall({ port: 1, callerNumber: '5550001', audio: [{ keys: '4111111111111111#1228#' }], ringCadence: [100, 100] });
    clock.advance(150);
    host.command({ kind: 'off-hook', port: 1 });
    await flush();
    clock.advance(20_000);
    host.command({ kind: 'off-hook', port: 2 });
    host.command({ kind: 'dial', port: 2, digits: '4111111111111111' });
    host.command({ kind: 'on-hook', port: 1 });
    await flush();
    card.stop();
    const text = sink.lines.join('\n');
    assert.ok(sink.lines.some((l) => l.includes('"keypresses":22')), 'the key count is logged');
    assert.equal(/4111|1228|\d{6,}/.test(text.replace(/"time":"[^"]*"/g, '')), false, 'no digit run in any log line');
    assert.equal(log.counters.droppedRecords, 0);
  });
});
