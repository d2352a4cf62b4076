/**
 * Board I/O against the strict fake GPIO with a manual clock: relay energised only while healthy,
 * LED patterns, card reset pulse, front button long press with confirmation, tamper alarm.
 */
import assert from 'node:assert/strict';
import { nullLogger } from '../../../hw/base/logger';
import { BoardIo } from '../../../hw/gpio/board-io';
import { gpioSchema, type GpioConfig } from '../../../hw/gpio/gpio-config';
import { FakeGpioBackend } from '../../lib/gpio-fake';
import { ManualClock } from '../../lib/manual-clock';

const FULL_BOARD = {
  enabled: true,
  lines: {
    transferRelay: { line: 512 },
    ledPower: { line: 513 },
    ledTrunkAlarm: { line: 514 },
    ledSecure: { line: 516 },
    cardReset: { line: 517, activeLow: true },
    button: { line: 515 },
    tamper: { line: 518 },
  },
};

function board(over: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const backend = new FakeGpioBackend(clock);
  const config: GpioConfig = gpioSchema.parse({ ...FULL_BOARD, ...over });
  const tamper: boolean[] = [];
  let resets = 0;
  const io = new BoardIo({ backend, config, clock, log: nullLogger, onTamper: (a) => tamper.push(a), onFactoryReset: () => resets++ });
  const events: string[] = [];
  for (const e of ['short-press', 'factory-reset-armed', 'factory-reset-confirmed', 'factory-reset-cancelled'] as const) io.on(e, () => events.push(e));
  io.start();
  return { clock, backend, io, tamper, events, resets: () => resets };
}

describe('gpio: transfer relay (power-fail lifeline)', () => {
  it('starts released and is energised only while healthy', () => {
    const { backend, io } = board();
    const relay = backend.line('transfer-relay');
    assert.equal(relay.level, 0);
    io.setHealthy(true);
    assert.equal(relay.level, 1);
    io.setHealthy(false);
    assert.equal(relay.level, 0, 'an unhealthy daemon must release the relay');
    io.setHealthy(true);
    io.stop();
    assert.equal(relay.level, 0, 'stop releases the relay');
    assert.equal(relay.isClosed, true);
    assert.deepEqual(relay.transitions().map((t) => t[1]), [0, 1, 0, 1, 0]);
  });

  it('pulse drive toggles while healthy and stops toggling (relay drops) when unhealthy', () => {
    const { clock, backend, io } = board({ relayDrive: 'pulse', relayPulseMs: 250 });
    const relay = backend.line('transfer-relay');
    io.setHealthy(true);
    clock.advance(1000);
    assert.deepEqual(relay.transitions().map((t) => t[0]), [0, 0, 250, 500, 750, 1000]);
    io.setHealthy(false);
    const before = relay.history.length;
    clock.advance(5000);
    assert.equal(relay.level, 0);
    assert.equal(relay.history.length, before, 'no toggling once unhealthy');
  });
});

describe('gpio: status LEDs', () => {
  it('power LED blinks slowly while starting/unhealthy and beats while healthy', () => {
    const { clock, backend, io } = board();
    const led = backend.line('led-power');
    clock.advance(2000);
    assert.deepEqual(led.transitions().map((t) => t[0]), [0, 0, 500, 1000, 1500, 2000], 'blink-slow: 500 ms on, 500 ms off');
    io.setHealthy(true);
    assert.equal(io.health().leds.power, 'heartbeat');
    const from = led.history.length;
    clock.advance(1000);
    assert.deepEqual(led.history.slice(from).map((h) => [h[0] - 2000, h[1]]), [[100, 0], [200, 1], [300, 0], [1000, 1]]);
  });

  it('trunk alarm and secure session LEDs follow their state', () => {
    const { backend, io } = board();
    io.setTrunkAlarm(true);
    io.setSecureSession(true);
    assert.equal(backend.line('led-trunk-alarm').level, 1);
    assert.equal(backend.line('led-secure').level, 1);
    io.setSecureSession(false);
    assert.equal(backend.line('led-secure').level, 0);
    assert.deepEqual(io.health().leds, { power: 'blink-slow', trunkAlarm: 'on', secure: 'off' });
    io.stop();
    assert.equal(backend.openLines.length, 0, 'every line closed');
  });
});

describe('gpio: card reset line', () => {
  it('holds reset for cardResetPulseMs, then releases; one pulse at a time', async () => {
    const { clock, backend, io } = board({ cardResetPulseMs: 100 });
    const line = backend.line('card-reset');
    assert.equal(line.spec.activeLow, true, 'the electrical polarity is the backend\'s business');
    const done = io.resetCard();
    assert.equal(line.level, 1);
    await assert.rejects(io.resetCard(), /already in progress/);
    clock.advance(99);
    assert.equal(line.level, 1);
    clock.advance(1);
    assert.equal(line.level, 0);
    await done;
    assert.deepEqual(line.transitions(), [[0, 0], [0, 1], [100, 0]]);
  });

  it('refuses a reset when the board has no reset line', async () => {
    const { io } = board({ lines: { transferRelay: { line: 512 } } });
    await assert.rejects(io.resetCard(), /gpio\.lines\.cardReset is not configured/);
  });
});

describe('gpio: front button (factory reset with confirmation)', () => {
  it('a short press is only a short press', () => {
    const { clock, backend, events, resets } = board();
    const b = backend.line('button');
    b.set(1);
    clock.advance(1000);
    b.set(0);
    clock.advance(100);
    assert.deepEqual(events, ['short-press']);
    assert.equal(resets(), 0);
  });

  it('a long press arms, a short press within the window confirms', () => {
    const { clock, backend, io, events, resets } = board({ longPressMs: 5000, confirmWindowMs: 10000, debounceMs: 30 });
    const b = backend.line('button');
    b.set(1);
    clock.advance(4999);
    assert.deepEqual(events, []);
    clock.advance(31);
    assert.deepEqual(events, ['factory-reset-armed']);
    assert.equal(io.health().leds.power, 'blink-fast');
    b.set(0);
    clock.advance(2000);
    b.set(1);
    clock.advance(50);
    assert.deepEqual(events, ['factory-reset-armed', 'factory-reset-confirmed']);
    assert.equal(resets(), 1);
    b.set(0);
    clock.advance(50);
    assert.equal(io.health().leds.power, 'blink-slow');
  });

  it('an armed reset is cancelled when no confirmation comes within the window', () => {
    const { clock, backend, events, resets } = board({ longPressMs: 5000, confirmWindowMs: 10000 });
    const b = backend.line('button');
    b.set(1);
    clock.advance(6000);
    b.set(0);
    clock.advance(10_100);
    b.set(1);
    clock.advance(100);
    b.set(0);
    clock.advance(100);
    assert.deepEqual(events, ['factory-reset-armed', 'factory-reset-cancelled', 'short-press']);
    assert.equal(resets(), 0);
  });

  it('contact bounce shorter than debounceMs never reaches the button logic', () => {
    const { clock, backend, events } = board({ debounceMs: 30 });
    const b = backend.line('button');
    for (let i = 0; i < 5; i++) {
      b.set(1);
      clock.advance(5);
      b.set(0);
      clock.advance(5);
    }
    clock.advance(100);
    assert.deepEqual(events, []);
  });
});

describe('gpio: tamper switch', () => {
  it('raises a critical alarm when the enclosure opens and clears it when closed', () => {
    const { clock, backend, io, tamper } = board();
    const t = backend.line('tamper');
    t.set(1);
    clock.advance(100);
    assert.deepEqual(tamper, [true]);
    assert.equal(io.tamper, true);
    t.set(0);
    clock.advance(100);
    assert.deepEqual(tamper, [true, false]);
  });
});

describe('gpio: configuration and the strict fake', () => {
  it('refuses a line the board does not have, naming it', () => {
    assert.throws(() => board({ lines: { transferRelay: { line: 600 } } }), /line 600 \(transfer-relay\) does not exist/);
  });

  it('gpioSchema rejects unknown keys and out-of-range timings', () => {
    assert.equal(gpioSchema.safeParse({ lines: { relay: { line: 1 } } }).success, false);
    assert.equal(gpioSchema.safeParse({ longPressMs: 10 }).success, false);
    assert.equal(gpioSchema.parse({}).enabled, false);
  });
});
